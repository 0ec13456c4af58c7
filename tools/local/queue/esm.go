package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Function is what a Mapping invokes: a Lambda function taking JSON (lambdainvoke.Function).
type Function interface {
	Name() string
	Invoke(ctx context.Context, requestID string, payload []byte) ([]byte, error)
}

// MappingConfig configures an event source mapping from a queue to a function.
type MappingConfig struct {
	Queue    *Queue
	Function Function
	// BatchSize is the most messages per invocation (default and most 10).
	BatchSize int
	// Pollers is how many batches run at once (default 4).
	Pollers int
	// QueueARN and Region go into every record, as on AWS.
	QueueARN, Region string
	Logger           *slog.Logger
	// PollWait is each receive's long-polling wait (default 1 s); it bounds how long
	// Close waits for an idle poller.
	PollWait time.Duration
	// Explain, when set, says why the function reported a message of the batch as
	// failed (the answer names only its ID), for the message's last error; "" when it
	// does not know.
	Explain func(messageID string) string
}

// Mapping polls a queue and invokes a function with events.SQSEvent batches, as
// Lambda's SQS event source mapping with FunctionResponseTypes ReportBatchItemFailures
// does: messages the function succeeded on are deleted; a failed invocation leaves the
// whole batch, and a partial batch failure the reported messages, in the queue, to be
// received again after the visibility timeout and moved to the dead-letter queue by
// the redrive policy after maxReceiveCount receives.
type Mapping struct {
	cfg  MappingConfig
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	seq  sync.Mutex
	n    uint64
}

// StartMapping starts polling.
func StartMapping(cfg MappingConfig) (*Mapping, error) {
	if cfg.Queue == nil || cfg.Function == nil {
		return nil, errors.New("event source mapping needs a queue and a function")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = MaxReceiveBatch
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxReceiveBatch {
		return nil, fmt.Errorf("%w: batch size %d: 1..%d", ErrInvalidParameterValue, cfg.BatchSize, MaxReceiveBatch)
	}
	if cfg.Pollers <= 0 {
		cfg.Pollers = 4
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Mapping{cfg: cfg, stop: make(chan struct{})}
	for range cfg.Pollers {
		m.wg.Add(1)
		go m.poll()
	}
	return m, nil
}

// Close stops receiving and waits for the batches being invoked (bounded by ctx).
// Messages received and not deleted become visible again after their timeout, in this
// process or the next.
func (m *Mapping) Close(ctx context.Context) error {
	m.once.Do(func() { close(m.stop) })
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("event source mapping %s -> %s: %w", m.cfg.Queue.Name(), m.cfg.Function.Name(), ctx.Err())
	}
}

func (m *Mapping) poll() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		default:
		}
		batch, err := m.cfg.Queue.ReceiveWait(m.stop, m.cfg.BatchSize, 0, m.cfg.PollWait)
		if errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			m.cfg.Logger.Error("receive", "queue", m.cfg.Queue.Name(), "error", err)
			select {
			case <-m.stop:
				return
			case <-time.After(m.cfg.PollWait):
			}
			continue
		}
		if len(batch) > 0 {
			m.invoke(batch)
		}
	}
}

// Records builds the event Lambda's SQS event source mapping sends for batch.
func Records(batch []Received, queueARN, region string) events.SQSEvent {
	var ev events.SQSEvent
	for _, r := range batch {
		attrs := map[string]string{
			"ApproximateReceiveCount": strconv.Itoa(r.ReceiveCount),
			"SentTimestamp":           strconv.FormatInt(r.SentAt.UnixMilli(), 10),
			"SenderId":                "AIDAEVENTBRIDGE",
		}
		if r.TraceHeader != "" {
			attrs["AWSTraceHeader"] = r.TraceHeader
		}
		if !r.FirstReceivedAt.IsZero() {
			attrs["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(r.FirstReceivedAt.UnixMilli(), 10)
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: r.ID, ReceiptHandle: r.ReceiptHandle, Body: r.Body, Md5OfBody: r.MD5OfBody,
			Attributes: attrs, MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSource: "aws:sqs", EventSourceARN: queueARN, AWSRegion: region,
		})
	}
	return ev
}

// Outcome splits a batch by the function's answer, as Lambda does with
// ReportBatchItemFailures: the receipt handles to delete, and the failed ones with why.
// An invocation error, an answer that is not JSON, or an itemIdentifier that is empty
// or not a message of the batch fails the whole batch; no batchItemFailures (empty,
// null, or an empty answer) means every message succeeded.
func Outcome(batch []Received, out []byte, invokeErr error) (deleted []string, failed map[string]string) {
	failed = map[string]string{}
	failAll := func(why string) ([]string, map[string]string) {
		for _, r := range batch {
			failed[r.ReceiptHandle] = why
		}
		return nil, failed
	}
	if invokeErr != nil {
		return failAll("invocation failed: " + invokeErr.Error())
	}
	var resp struct {
		BatchItemFailures []map[string]any `json:"batchItemFailures"`
	}
	if len(out) > 0 && string(out) != "null" {
		if err := json.Unmarshal(out, &resp); err != nil {
			return failAll("function response is not a batch response: " + err.Error())
		}
	}
	byID := map[string]string{}
	for _, r := range batch {
		byID[r.ID] = r.ReceiptHandle
	}
	for _, f := range resp.BatchItemFailures {
		id, _ := f["itemIdentifier"].(string)
		handle, ok := byID[id]
		if !ok {
			return failAll(fmt.Sprintf("batchItemFailures names %q, not a message of the batch", id))
		}
		failed[handle] = "reported in batchItemFailures"
	}
	for _, r := range batch {
		if _, ok := failed[r.ReceiptHandle]; !ok {
			deleted = append(deleted, r.ReceiptHandle)
		}
	}
	return deleted, failed
}

func (m *Mapping) invoke(batch []Received) {
	payload, err := json.Marshal(Records(batch, m.cfg.QueueARN, m.cfg.Region))
	if err != nil { // cannot happen with strings and maps
		m.cfg.Logger.Error("encode batch", "error", err)
		return
	}
	m.seq.Lock()
	m.n++
	id := fmt.Sprintf("esm-%s-%d", m.cfg.Queue.Name(), m.n)
	m.seq.Unlock()
	// The batch runs to its end even while closing: the function's own timeout bounds it.
	out, err := m.cfg.Function.Invoke(context.Background(), id, payload)
	deleted, failed := Outcome(batch, out, err)
	for i, err := range m.cfg.Queue.DeleteBatch(deleted) {
		if err != nil {
			m.cfg.Logger.Warn("delete processed message; it will be received again", "queue", m.cfg.Queue.Name(), "handle", deleted[i], "error", err)
		}
	}
	for _, r := range batch {
		if why, ok := failed[r.ReceiptHandle]; ok && err == nil && m.cfg.Explain != nil {
			if note := m.cfg.Explain(r.ID); note != "" {
				failed[r.ReceiptHandle] = why + ": " + note
			}
		}
	}
	for handle, why := range failed {
		if err := m.cfg.Queue.Fail(handle, why); err != nil {
			m.cfg.Logger.Warn("record failure", "queue", m.cfg.Queue.Name(), "error", err)
		}
	}
	if len(failed) > 0 {
		m.cfg.Logger.Info("batch items failed; they return after the visibility timeout",
			"queue", m.cfg.Queue.Name(), "function", m.cfg.Function.Name(), "failed", len(failed), "of", len(batch))
	}
}
