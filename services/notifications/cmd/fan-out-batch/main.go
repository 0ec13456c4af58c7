// Command fan-out-batch posts one batch of the fan-out queue to its WebSocket
// connections (the notifications service's fan-out-batch Lambda function).
package main

import (
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/notifications/internal/wiring"
)

func main() { wiring.Main(notifications.FunctionFanOutBatch) }
