// Command ws-unsubscribe is the ws-unsubscribe Lambda function of the notifications service.
package main

import (
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/notifications/internal/wiring"
)

func main() { wiring.Main(notifications.FunctionUnsubscribe) }
