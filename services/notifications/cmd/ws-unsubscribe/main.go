// Command ws-unsubscribe is the ws-unsubscribe Lambda function of the notifications service.
package main

import (
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/notifications/internal/lambdamain"
)

func main() { lambdamain.Main(notifications.FunctionUnsubscribe) }
