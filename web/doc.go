// Package web serves chatd's pages over HTTP: sign-up, log-in and log-out,
// the chat page, the user administration page, the static assets and the
// health check. Routing uses chi; every route is listed in routes.go.
//
// # Sessions
//
// Signing up or logging in starts a session (chat.Accounts): a random
// 256-bit token from crypto/rand is sent to the browser in the HttpOnly
// cookie chat.SessionCookieName (Path=/, SameSite=Lax, Secure when the
// request came over TLS or Config.SecureCookies is set) and only its
// SHA-256 is stored. A session lasts a
// fixed 30 days from log-in (it is not extended by use); logging out deletes
// it. Every request's cookie is looked up again, so a changed role takes
// effect on the next request.
//
// # Log-in throttling
//
// Failed log-ins are counted per username, without regard to case and
// whether or not the account exists. After 5 consecutive failures the name
// is locked for 30 seconds; each further failure after a lock doubles the
// lock, up to 15 minutes. While locked, POST /login answers 429 with a
// Retry-After header without checking the password. A successful log-in
// clears the count; counts unused for an hour are forgotten. The state is
// kept in memory per process (see chat.LoginThrottle): a restart clears it,
// and each node of a cluster counts on its own. Sign-ups are not limited.
//
// # Cross-site requests
//
// Every state-changing request (POST) goes through net/http's
// CrossOriginProtection: a browser request that is cross-site by its
// Sec-Fetch-Site header, or whose Origin does not match the Host, is
// refused with 403 unless its origin is one of Config.TrustedOrigins.
// Requests without either header (non-browser clients) pass; they carry no
// ambient cookie a third party could abuse. The session cookie's SameSite=Lax
// is a second line of defence.
//
// # Status codes
//
// POST /signup and POST /login answer 303 to / on success and show the form
// again on failure: 400 for invalid input, 409 for a taken username, 401 for
// wrong credentials, 429 while the name is locked. GET / answers 303 to
// /login without a session. The admin pages answer 403 to anyone who is not
// signed in as an admin.
package web
