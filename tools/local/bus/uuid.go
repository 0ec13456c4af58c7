package bus

import "crypto/rand"

// newUUID returns a random (version 4) UUID, the form of EventBridge event ids.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := formatUUID(u)
	return string(s[:])
}
