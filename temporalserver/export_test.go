package temporalserver

// SetPickPorts replaces how a start picks its internal ports, until restore.
func SetPickPorts(f func(host string, n int) ([]int, error)) (restore func()) {
	old := pickPorts
	pickPorts = f
	return func() { pickPorts = old }
}

// FreePorts is the real picker.
var FreePorts = freePorts
