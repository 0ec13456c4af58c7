package infra

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/concertsys/platform/service"
)

// routesHash identifies the WebSocket route set (keys and functions), so the
// deployment resource is replaced, and the stage redeployed, when it changes.
func routesHash(svc service.Service) string {
	h := sha256.New()
	for _, r := range svc.WebSocketRoutes {
		h.Write([]byte(r.RouteKey + "=" + r.Function + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}
