package wsgateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/wsgateway"
)

func Example() {
	ctx := context.Background()
	connected := make(chan string, 1)
	routes := []service.WebSocketRoute{
		{Function: "ws-connect", RouteKey: "$connect", Handler: func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			connected <- req.RequestContext.ConnectionID
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		}},
		{Function: "ws-subscribe", RouteKey: "subscribe", Handler: func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: `{"type":"subscribed"}`}, nil
		}},
	}
	gw, err := wsgateway.New(routes, wsgateway.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Close(ctx)
	mux := http.NewServeMux()
	mux.Handle("/ws", gw)
	mux.Handle("/_aws/ws/", gw.ManagementHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseNow()
	id := <-connected

	// A route's response body comes back on the socket.
	_ = client.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","concertId":"*"}`))
	_, msg, _ := client.Read(ctx)
	fmt.Println(string(msg))

	// A service pushes with the real SDK client, as it would on AWS.
	api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(srv.URL + "/_aws/ws"),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id),
		Data:         []byte(`{"type":"concert.updated"}`),
	})
	_, msg, _ = client.Read(ctx)
	fmt.Println(string(msg), err)
	// Output:
	// {"type":"subscribed"}
	// {"type":"concert.updated"} <nil>
}
