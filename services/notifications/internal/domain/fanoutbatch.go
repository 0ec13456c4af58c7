package domain

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Limits of one fan-out batch (a message of the fan-out queue).
const (
	// MaxBatchConnections bounds the connections of one batch: one invocation posts
	// to at most this many, well inside its timeout.
	MaxBatchConnections = 500
	// MaxBatchBodyBytes is SQS's message size limit (256 KB); a batch's message is at
	// most MaxMessageBytes, so a batch always has room for connection ids.
	MaxBatchBodyBytes = 256 * 1024
)

// FanOutBatch is one message of the fan-out queue: the WebSocket message of one
// change and the connections to post it to. A failed batch is retried alone.
type FanOutBatch struct {
	EventID     string          `json:"eventId"`
	ConcertID   string          `json:"concertId"`
	Version     int64           `json:"version"`
	Message     json.RawMessage `json:"message"`
	Connections []string        `json:"connections"`
}

// ErrBadBatch is a fan-out queue message that is not a FanOutBatch.
var ErrBadBatch = errors.New("not a fan-out batch")

// DecodeFanOutBatch decodes and checks a fan-out queue message.
func DecodeFanOutBatch(body []byte) (FanOutBatch, error) {
	var b FanOutBatch
	if err := json.Unmarshal(body, &b); err != nil {
		return b, fmt.Errorf("%w: %w", ErrBadBatch, err)
	}
	switch {
	case b.ConcertID == "" || b.Version < 1:
		return b, fmt.Errorf("%w: concertId and a positive version are required", ErrBadBatch)
	case len(b.Message) == 0 || b.Message[0] != '{' || len(b.Message) > MaxMessageBytes:
		return b, fmt.Errorf("%w: message must be a JSON object of at most %d bytes", ErrBadBatch, MaxMessageBytes)
	case len(b.Connections) == 0 || len(b.Connections) > MaxBatchConnections:
		return b, fmt.Errorf("%w: %d connections, want 1..%d", ErrBadBatch, len(b.Connections), MaxBatchConnections)
	}
	return b, nil
}

// SplitFanOut encodes the batches of one change: at most perBatch connections each
// (1..MaxBatchConnections), each body at most MaxBatchBodyBytes.
func SplitFanOut(u ConcertViewUpdated, msg []byte, connections []string, perBatch int) ([][]byte, error) {
	if perBatch < 1 || perBatch > MaxBatchConnections {
		return nil, fmt.Errorf("%d connections per batch, want 1..%d", perBatch, MaxBatchConnections)
	}
	var out [][]byte
	for len(connections) > 0 {
		n := min(len(connections), perBatch)
		for {
			body, err := json.Marshal(FanOutBatch{EventID: u.EventID, ConcertID: u.ConcertID, Version: u.Version, Message: msg, Connections: connections[:n]})
			if err != nil {
				return nil, fmt.Errorf("encode fan-out batch: %w", err)
			}
			if len(body) <= MaxBatchBodyBytes {
				out = append(out, body)
				break
			}
			if n == 1 {
				return nil, fmt.Errorf("a fan-out batch of one connection is %d bytes, over %d", len(body), MaxBatchBodyBytes)
			}
			n /= 2 // long connection ids: fewer per batch
		}
		connections = connections[n:]
	}
	return out, nil
}
