package wsgateway_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/concertsys/tools/local/internal/cputime"
	"github.com/concertsys/tools/local/wsgateway"
)

// BenchmarkPostToConnection measures PostToConnection through the real SDK client
// (signing, HTTP, management handler, WebSocket write) to a client that reads;
// cpu-ns/op is what one post costs sender, gateway and reader together.
func BenchmarkPostToConnection(b *testing.B) {
	for _, size := range []int{256, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			rec := newRecorder()
			e := newEnv(b, standardRoutes(rec), wsgateway.Options{})
			c := dial(b, e, "", nil)
			id := (<-rec.seen).RequestContext.ConnectionID
			go func() {
				for {
					if _, _, err := c.Read(context.Background()); err != nil {
						return
					}
				}
			}()
			in := &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: bytes.Repeat([]byte("x"), size)}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			cpu := cputime.Start()
			for b.Loop() {
				if _, err := e.api.PostToConnection(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
			cpu.ReportPerOp(b, b.N)
		})
	}
}
