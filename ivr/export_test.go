package ivr

// CallState is a call's state as tests build it.
type CallState = state

// SealState seals st for the call sid as the handler's action URLs carry it, so that
// a test can reach any step of a call in any state without dialling its way there.
func (h *Handler) SealState(st CallState, sid string) string { return h.seal(st, sid) }
