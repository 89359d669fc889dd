package chat

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id cost parameters for new password hashes.
// Every hash records the parameters it was made with, so they can change
// without invalidating stored hashes.
type PasswordParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
	SaltLen   uint32 // bytes of random salt
	KeyLen    uint32 // bytes of derived key
}

// DefaultPasswordParams follow the OWASP minimum for argon2id (19 MiB of
// memory, 2 passes, 1 lane), with a 16-byte salt and a 32-byte key.
var DefaultPasswordParams = PasswordParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from a stored hash, so that a damaged or
// hostile hash cannot make a check arbitrarily expensive.
const (
	maxHashTime      = 16
	maxHashMemoryKiB = 1 << 20 // 1 GiB
)

// HashPassword returns the argon2id hash of password in the encoded form
//
//	$argon2id$v=19$m=MEMORY_KIB,t=TIME,p=THREADS$SALT$KEY
//
// with SALT and KEY in unpadded standard base64 (the PHC string format used
// by the argon2 reference implementation). The version field makes the
// form self-describing; CheckPassword reads the parameters from it.
func HashPassword(password string, p PasswordParams) (string, error) {
	if p.Time == 0 || p.MemoryKiB == 0 || p.Threads == 0 || p.SaltLen < 8 || p.KeyLen < 16 {
		return "", fmt.Errorf("chat: invalid password hash parameters %+v", p)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("chat: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the encoded hash made by
// HashPassword. The keys are compared in constant time. A hash that cannot
// be parsed (or has another algorithm or version) gives an error.
func CheckPassword(password, encoded string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func decodeHash(encoded string) (p PasswordParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("chat: password hash is not in argon2id encoded form")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil {
		return p, nil, nil, fmt.Errorf("chat: password hash version: %w", err)
	}
	if version != argon2.Version {
		return p, nil, nil, fmt.Errorf("chat: unsupported argon2 version %d", version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("chat: password hash parameters: %w", err)
	}
	if p.Time == 0 || p.Time > maxHashTime || p.MemoryKiB == 0 || p.MemoryKiB > maxHashMemoryKiB || p.Threads == 0 {
		return p, nil, nil, fmt.Errorf("chat: password hash parameters out of range")
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, fmt.Errorf("chat: password hash salt: %w", err)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return p, nil, nil, fmt.Errorf("chat: password hash key: %w", err)
	}
	if len(key) < 16 || len(key) > 128 {
		return p, nil, nil, fmt.Errorf("chat: password hash key length %d out of range", len(key))
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
