package redispresence

// Kill stops the goroutine without removing anything, as if the node's
// process died: its entries stay in Redis until another node sweeps them.
func (p *Presence) Kill() { p.halt() }

// Resume starts the goroutine of a killed node again, as after a pause.
func (p *Presence) Resume() { p.start() }

// Incarnation returns the incarnation the node's entries belong to.
func (p *Presence) Incarnation() string {
	p.reg.RLock()
	defer p.reg.RUnlock()
	return p.inc
}

// Keys returns the liveness and sweep keys.
func (p *Presence) Keys() (live, sweep string) { return p.keys[0], p.keys[1] }

// ScriptHashes returns the hashes of the scripts New loads.
func ScriptHashes() []string {
	return []string{addScript.Hash(), removeScript.Hash(), statsScript.Hash(), usersScript.Hash()}
}
