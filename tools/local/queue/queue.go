// Package queue is a local Amazon SQS standard queue: messages with a visibility
// timeout and ApproximateReceiveCount, a redrive policy that moves a message to its
// dead-letter queue once it was received maxReceiveCount times, message retention, a
// bound on queue length, durable in a bbolt file or in memory. Mapping (esm.go) is the
// Lambda event source mapping that polls a queue and invokes a function with
// events.SQSEvent batches, deleting what succeeded (ReportBatchItemFailures).
//
// Like SQS standard queues it is at-least-once and only roughly ordered: a message
// whose visibility timeout ran out is received again, after messages sent later.
//
// Durable, a send returns success only once its message is committed. Receives,
// deletes and retention are recorded without waiting for a commit (store.go): a
// crash can only make a message be received again, never lose one.
package queue

import (
	"cmp"
	"container/heap"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// SQS's defaults and limits, enforced here so what works locally works on AWS.
const (
	DefaultVisibilityTimeout = 30 * time.Second
	MaxVisibilityTimeout     = 12 * time.Hour
	DefaultRetention         = 4 * 24 * time.Hour
	MinRetention             = time.Minute
	MaxRetention             = 14 * 24 * time.Hour
	MaxReceiveBatch          = 10
	MaxBodyBytes             = 256 * 1024
	MaxReceiveCountLimit     = 1000
	// DefaultMaxMessages bounds a queue's length (SQS bounds only in-flight
	// messages, at 120,000): past it Send fails with ErrQueueFull rather than grow
	// memory and the data file without limit.
	DefaultMaxMessages = 100_000
)

// Errors callers can test with errors.Is.
var (
	ErrQueueFull             = errors.New("queue is full")
	ErrNoSuchQueue           = errors.New("queue does not exist")
	ErrQueueExists           = errors.New("queue already exists")
	ErrInvalidReceiptHandle  = errors.New("receipt handle is not valid")
	ErrMessageTooLong        = fmt.Errorf("message body is longer than %d bytes", MaxBodyBytes)
	ErrInvalidParameterValue = errors.New("invalid parameter value")
	ErrClosed                = errors.New("queue broker is closed")
	ErrMessageMissing        = errors.New("message not found")
)

// Config is a queue's attributes.
type Config struct {
	Name string
	// VisibilityTimeout is how long a received message stays hidden (default 30 s).
	VisibilityTimeout time.Duration
	// Retention is how long a message is kept from when it was first sent (default 4
	// days, 1 minute to 14 days). As on SQS standard queues, a message moved to a
	// dead-letter queue keeps its original sent time.
	Retention time.Duration
	// MaxMessages bounds the queue's length (default DefaultMaxMessages).
	MaxMessages int
	// DeadLetter names the dead-letter queue (it must exist); with MaxReceiveCount
	// (1..1000) it is the redrive policy.
	DeadLetter      string
	MaxReceiveCount int
	// Label says what the queue feeds (a subscription's rule name); dead-letter
	// listings show it.
	Label string
	// Tags are the queue's tags (ListQueueTags).
	Tags map[string]string
	// OnDeadLetter, when set, sees each message the redrive policy moved to the
	// dead-letter queue (devstack's inspector and spans). It runs under the broker's
	// lock: it must be quick and must not call back into the queue.
	OnDeadLetter func(m Message)
}

func (c Config) withDefaults() (Config, error) {
	if c.VisibilityTimeout == 0 {
		c.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.MaxMessages == 0 {
		c.MaxMessages = DefaultMaxMessages
	}
	switch {
	case c.Name == "" || len(c.Name) > 80 || strings.Trim(c.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "":
		return c, fmt.Errorf("%w: queue name %q: 1..80 letters, digits, - and _", ErrInvalidParameterValue, c.Name)
	case c.VisibilityTimeout < 0 || c.VisibilityTimeout > MaxVisibilityTimeout:
		return c, fmt.Errorf("%w: visibility timeout %s: 0..12h", ErrInvalidParameterValue, c.VisibilityTimeout)
	case c.Retention < MinRetention || c.Retention > MaxRetention:
		return c, fmt.Errorf("%w: retention %s: 1m..14d", ErrInvalidParameterValue, c.Retention)
	case c.MaxMessages < 0:
		return c, fmt.Errorf("%w: max messages %d", ErrInvalidParameterValue, c.MaxMessages)
	case (c.DeadLetter == "") != (c.MaxReceiveCount == 0):
		return c, fmt.Errorf("%w: a redrive policy needs both a dead-letter queue and maxReceiveCount", ErrInvalidParameterValue)
	case c.MaxReceiveCount < 0 || c.MaxReceiveCount > MaxReceiveCountLimit:
		return c, fmt.Errorf("%w: maxReceiveCount %d: 1..%d", ErrInvalidParameterValue, c.MaxReceiveCount, MaxReceiveCountLimit)
	}
	return c, nil
}

// Message is a message as stored.
type Message struct {
	ID              string    `json:"id"`
	Body            string    `json:"body"`
	Seq             uint64    `json:"seq"`
	SentAt          time.Time `json:"sentAt"`
	ReceiveCount    int       `json:"receiveCount"`
	FirstReceivedAt time.Time `json:"firstReceivedAt,omitzero"`
	VisibleAt       time.Time `json:"visibleAt,omitzero"`
	// Receipt is the nonce of the latest receive: only its receipt handle deletes.
	Receipt string `json:"receipt,omitempty"`
	// LastError is devstack's note of why the last receive did not delete the
	// message (SQS keeps none; the dead-letter listing shows it).
	LastError string `json:"lastError,omitempty"`
	// TraceHeader is the AWSTraceHeader system attribute: the X-Ray trace header of the
	// sender (EventBridge passes its own to an SQS target), handed to the consumer.
	TraceHeader string `json:"traceHeader,omitempty"`
	// DeadLetteredAt and SourceQueue are set when the redrive policy moved it here.
	DeadLetteredAt time.Time `json:"deadLetteredAt,omitzero"`
	SourceQueue    string    `json:"sourceQueue,omitempty"`

	// state says which of its queue's structures holds the message; hidx is its
	// index in the in-flight heap.
	state msgState
	hidx  int
}

type msgState uint8

const (
	stateNone     msgState = iota // taken out by Receive, not placed yet
	stateVisible                  // in the visible FIFO
	stateInFlight                 // in the in-flight heap
	stateGone                     // deleted, expired or moved
)

// Received is a message handed out by Receive, with the receipt handle that deletes it.
type Received struct {
	Message
	ReceiptHandle string
	MD5OfBody     string
}

// Options configure a Broker.
type Options struct {
	// Path is the bbolt file; empty keeps everything in memory.
	Path   string
	Logger *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Broker holds every queue of one process and their store.
type Broker struct {
	mu     sync.Mutex
	store  store
	queues map[string]*Queue
	// loaded are messages read from the store for queues not created yet.
	loaded map[string][]*Message
	seq    uint64
	now    func() time.Time
	log    *slog.Logger
	closed bool
}

// Open opens the broker's store and loads every stored message.
func Open(opts Options) (*Broker, error) {
	b := &Broker{queues: map[string]*Queue{}, loaded: map[string][]*Message{}, now: opts.Now, log: opts.Logger}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if opts.Path == "" {
		b.store = memStore{}
		return b, nil
	}
	s, err := openBoltStore(opts.Path)
	if err != nil {
		return nil, err
	}
	b.store = s
	if err := s.load(func(queue string, m *Message) {
		// Visible at once: a message received before the restart is received again,
		// as after its visibility timeout (at least once).
		b.loaded[queue] = append(b.loaded[queue], m)
		b.seq = max(b.seq, m.Seq)
	}); err != nil {
		_ = s.close()
		return nil, fmt.Errorf("load queues from %s: %w", opts.Path, err)
	}
	return b, nil
}

// Close closes the store; queues refuse every call afterwards.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, q := range b.queues {
		q.wake()
	}
	return b.store.close()
}

// CreateQueue creates a queue, with the messages a previous process stored under its
// name. A second queue of the same name fails with ErrQueueExists.
func (b *Broker) CreateQueue(cfg Config) (*Queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if _, ok := b.queues[cfg.Name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrQueueExists, cfg.Name)
	}
	if cfg.DeadLetter != "" {
		if _, ok := b.queues[cfg.DeadLetter]; !ok {
			return nil, fmt.Errorf("%w: dead-letter queue %s of %s", ErrNoSuchQueue, cfg.DeadLetter, cfg.Name)
		}
	}
	q := &Queue{b: b, cfg: cfg, ready: make(chan struct{}, 1), byID: map[string]*Message{}}
	loaded := b.loaded[cfg.Name]
	delete(b.loaded, cfg.Name)
	slices.SortFunc(loaded, func(x, y *Message) int { return cmp.Compare(x.Seq, y.Seq) })
	for _, m := range loaded {
		q.add(m)
	}
	b.queues[cfg.Name] = q
	return q, nil
}

// Queue returns the named queue.
func (b *Broker) Queue(name string) (*Queue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.queues[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchQueue, name)
	}
	return q, nil
}

// Queues lists the queue names, sorted.
func (b *Broker) Queues() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, 0, len(b.queues))
	for n := range b.queues {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Queue is one standard queue. Its messages are in byID, and each either in visible
// (a FIFO, receivable now) or in inFlight (a min-heap by VisibleAt, hidden): a
// receive takes from the FIFO's head after moving the messages whose visibility
// timeout ended from the heap's top to the FIFO's tail, so it costs O(batch + log n)
// whatever the queue's length.
type Queue struct {
	b        *Broker
	cfg      Config
	byID     map[string]*Message
	visible  []*Message // from vhead; entries gone meanwhile are skipped
	vhead    int
	vgone    int // gone entries in visible[vhead:]
	inFlight inFlightHeap
	// sending counts messages being written to the store by Send, for the bound.
	sending int
	// oldest is no later than every message's SentAt (zero: unknown), so the
	// retention check scans only when a message may have expired.
	oldest time.Time
	// expiredAt is when expire last looked.
	expiredAt time.Time
	// ready holds a token whenever a message may have become receivable: one waiting
	// receiver takes it, and passes it on if it left messages behind, so a send wakes
	// one poller, not all of them.
	ready chan struct{}
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.cfg.Name }

// Config is the queue's attributes.
func (q *Queue) Config() Config { return q.cfg }

func (q *Queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default: // a token is already waiting
	}
}

// Send adds a message and returns its id.
func (q *Queue) Send(body string) (string, error) {
	return q.SendTraced(body, "")
}

// SendTraced is Send with the AWSTraceHeader system attribute set to traceHeader (an
// X-Ray trace header; "" for none).
func (q *Queue) SendTraced(body, traceHeader string) (string, error) {
	ids, err := q.sendBatch([]string{body}, traceHeader)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SendBatch adds up to MaxReceiveBatch messages at once, all or none.
func (q *Queue) SendBatch(bodies []string) ([]string, error) {
	return q.sendBatch(bodies, "")
}

func (q *Queue) sendBatch(bodies []string, traceHeader string) ([]string, error) {
	if len(bodies) == 0 || len(bodies) > MaxReceiveBatch {
		return nil, fmt.Errorf("%w: a batch holds 1..%d messages", ErrInvalidParameterValue, MaxReceiveBatch)
	}
	total := 0
	for _, body := range bodies {
		if len(body) > MaxBodyBytes {
			return nil, ErrMessageTooLong
		}
		total += len(body)
	}
	if total > MaxBodyBytes { // SendMessageBatch: BatchRequestTooLong
		return nil, fmt.Errorf("%w: the batch's bodies are %d bytes, more than %d", ErrMessageTooLong, total, MaxBodyBytes)
	}
	b := q.b
	now, err := q.begin()
	if err != nil {
		return nil, err
	}
	if n := q.len() + q.sending; n+len(bodies) > q.cfg.MaxMessages {
		b.mu.Unlock()
		return nil, fmt.Errorf("%w: %s holds %d messages, its bound is %d", ErrQueueFull, q.cfg.Name, n, q.cfg.MaxMessages)
	}
	var msgs []*Message
	for _, body := range bodies {
		b.seq++
		msgs = append(msgs, &Message{ID: newID(), Body: body, Seq: b.seq, SentAt: now, TraceHeader: traceHeader})
	}
	q.sending += len(msgs)
	b.mu.Unlock()
	// Written outside the lock, so concurrent sends to every queue share one commit
	// (the store's group commit); the message is receivable only once it is durable,
	// and SendMessage reports success only then.
	err = b.store.put(q.cfg.Name, msgs)
	b.mu.Lock()
	defer b.mu.Unlock()
	q.sending -= len(msgs)
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", q.cfg.Name, err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
		q.add(m)
	}
	q.wake()
	return ids, nil
}

// len is the number of messages in the queue. b.mu is held.
func (q *Queue) len() int { return len(q.byID) }

// add puts m in the queue, visible. b.mu is held.
func (q *Queue) add(m *Message) {
	q.byID[m.ID] = m
	if q.oldest.IsZero() || m.SentAt.Before(q.oldest) {
		q.oldest = m.SentAt
	}
	q.pushVisible(m)
}

// pushVisible appends m to the visible FIFO. b.mu is held.
func (q *Queue) pushVisible(m *Message) {
	m.state = stateVisible
	q.visible = append(q.visible, m)
}

// visibleLen is the number of receivable messages (after promote). b.mu is held.
func (q *Queue) visibleLen() int { return len(q.visible) - q.vhead - q.vgone }

// popVisible takes the FIFO's first message, nil when it is empty. b.mu is held.
func (q *Queue) popVisible() *Message {
	for q.vhead < len(q.visible) {
		m := q.visible[q.vhead]
		q.visible[q.vhead] = nil
		q.vhead++
		if m.state != stateVisible {
			q.vgone--
			continue
		}
		m.state = stateNone
		q.compactVisible()
		return m
	}
	q.compactVisible()
	return nil
}

// compactVisible drops the FIFO's consumed head and gone entries once they are
// most of it, so each costs O(1) amortised. b.mu is held.
func (q *Queue) compactVisible() {
	if q.vhead == len(q.visible) {
		q.visible, q.vhead, q.vgone = q.visible[:0], 0, 0
		return
	}
	dead := q.vhead + q.vgone
	if dead < 1024 || dead*2 < len(q.visible) {
		return
	}
	kept := q.visible[:0]
	for _, m := range q.visible[q.vhead:] {
		if m.state == stateVisible {
			kept = append(kept, m)
		}
	}
	clear(q.visible[len(kept):])
	q.visible, q.vhead, q.vgone = kept, 0, 0
}

// promote moves the messages whose visibility timeout ended by now to the FIFO's
// tail: as on SQS standard queues, such a message is received again, possibly after
// messages sent later. b.mu is held.
func (q *Queue) promote(now time.Time) {
	for len(q.inFlight) > 0 && !q.inFlight[0].VisibleAt.After(now) {
		q.pushVisible(heap.Pop(&q.inFlight).(*Message))
	}
}

// removeLocked takes ms out of the queue for good: at once from byID and the heap,
// lazily from the FIFO. b.mu is held.
func (q *Queue) removeLocked(ms []*Message) {
	for _, m := range ms {
		switch m.state {
		case stateGone:
			continue
		case stateVisible:
			q.vgone++
		case stateInFlight:
			heap.Remove(&q.inFlight, m.hidx)
		}
		m.state = stateGone
		delete(q.byID, m.ID)
	}
	q.compactVisible()
}

// inFlightHeap orders received messages by when they become visible again.
type inFlightHeap []*Message

func (h inFlightHeap) Len() int { return len(h) }
func (h inFlightHeap) Less(i, j int) bool {
	if c := h[i].VisibleAt.Compare(h[j].VisibleAt); c != 0 {
		return c < 0
	}
	return h[i].Seq < h[j].Seq
}
func (h inFlightHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *inFlightHeap) Push(x any) {
	m := x.(*Message)
	m.hidx, m.state = len(*h), stateInFlight
	*h = append(*h, m)
}
func (h *inFlightHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	m.hidx, m.state = -1, stateNone
	return m
}

// begin takes the broker's lock (the caller unlocks b.mu), refuses a closed broker
// and deletes the messages past retention first.
func (q *Queue) begin() (time.Time, error) {
	q.b.mu.Lock()
	if q.b.closed {
		q.b.mu.Unlock()
		return time.Time{}, ErrClosed
	}
	now := q.b.now().UTC()
	q.expire(now)
	return now, nil
}

// expire deletes messages past the retention period, as SQS does, looking at most
// once a second (retention is counted in seconds). b.mu is held.
func (q *Queue) expire(now time.Time) {
	if !q.expiredAt.IsZero() && now.Sub(q.expiredAt) < time.Second && now.After(q.expiredAt) {
		return
	}
	q.expiredAt = now
	cutoff := now.Add(-q.cfg.Retention)
	if !q.oldest.IsZero() && !q.oldest.Before(cutoff) {
		return // nothing sent early enough to be past retention
	}
	var gone []*Message
	var oldest time.Time
	for _, m := range q.byID {
		switch {
		case m.SentAt.Before(cutoff):
			gone = append(gone, m)
		case oldest.IsZero() || m.SentAt.Before(oldest):
			oldest = m.SentAt
		}
	}
	q.oldest = oldest
	if len(gone) > 0 {
		q.removeLocked(gone)
		// Durably removed by a later commit; one lost in a crash expires again.
		q.b.store.remove(q.cfg.Name, gone)
		q.b.log.Info("messages past retention deleted", "queue", q.cfg.Name, "count", len(gone), "retention", q.cfg.Retention)
	}
}

// Receive returns up to max (1..10) visible messages and hides them for visibility
// (0: the queue's visibility timeout). A message already received MaxReceiveCount
// times moves to the dead-letter queue instead, as SQS's redrive policy does. It does
// not wait: see ReceiveWait.
func (q *Queue) Receive(max int, visibility time.Duration) ([]Received, error) {
	if max < 1 || max > MaxReceiveBatch {
		return nil, fmt.Errorf("%w: MaxNumberOfMessages must be 1..%d", ErrInvalidParameterValue, MaxReceiveBatch)
	}
	if visibility == 0 {
		visibility = q.cfg.VisibilityTimeout
	}
	b := q.b
	now, err := q.begin()
	if err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	q.promote(now)
	var out []Received
	var changed, dead []*Message
	for len(out) < max {
		m := q.popVisible()
		if m == nil {
			break
		}
		if q.cfg.MaxReceiveCount > 0 && m.ReceiveCount >= q.cfg.MaxReceiveCount {
			dead = append(dead, m) // the redrive policy: moved instead of received
			continue
		}
		m.ReceiveCount++
		if m.FirstReceivedAt.IsZero() {
			m.FirstReceivedAt = now
		}
		m.VisibleAt = now.Add(visibility)
		m.Receipt = newID()
		heap.Push(&q.inFlight, m)
		changed = append(changed, m)
		sum := md5.Sum([]byte(m.Body))
		out = append(out, Received{Message: *m, ReceiptHandle: m.ID + "." + m.Receipt, MD5OfBody: hex.EncodeToString(sum[:])})
	}
	if q.visibleLen() > 0 {
		q.wake() // more are receivable: wake another receiver
	}
	if len(dead) > 0 {
		if err := q.moveToDeadLetter(now, dead); err != nil {
			// They stay; the ones received above return after their visibility
			// timeout, as an unanswered receive's do on SQS.
			for _, m := range dead {
				q.pushVisible(m)
			}
			return nil, err
		}
	}
	// The receive waits for no commit: visibility and the receipt live in memory
	// only, and the receive count rides on the next commit that runs anyway. After a
	// crash the message is visible again at once, with the count of its last
	// recorded receive: a redelivery, and at worst a later move to the dead-letter
	// queue; SQS is at-least-once.
	b.store.update(q.cfg.Name, changed)
	return out, nil
}

// moveToDeadLetter moves ms (taken out of the FIFO) to the dead-letter queue: the
// removal and the put commit together before it returns, so a message is reported
// moved only once it is durably in the dead-letter queue alone. b.mu is held.
func (q *Queue) moveToDeadLetter(now time.Time, ms []*Message) error {
	dlq := q.b.queues[q.cfg.DeadLetter]
	moved := make([]*Message, 0, len(ms))
	for _, m := range ms {
		c := *m
		c.VisibleAt, c.Receipt, c.DeadLetteredAt, c.SourceQueue = time.Time{}, "", now, q.cfg.Name
		moved = append(moved, &c)
	}
	if err := q.b.store.move(q.cfg.Name, dlq.cfg.Name, ms, moved); err != nil {
		return fmt.Errorf("move to dead-letter queue %s: %w", dlq.cfg.Name, err)
	}
	q.removeLocked(ms)
	for _, m := range moved {
		dlq.add(m)
	}
	dlq.wake()
	for _, m := range moved {
		q.b.log.Warn("message moved to dead-letter queue", "queue", q.cfg.Name, "deadLetterQueue", dlq.cfg.Name,
			"message", m.ID, "receiveCount", m.ReceiveCount, "lastError", m.LastError)
		if q.cfg.OnDeadLetter != nil {
			q.cfg.OnDeadLetter(*m)
		}
	}
	return nil
}

// ReceiveWait is Receive with SQS's long polling: it waits up to wait for a message
// to become receivable (sent, or its visibility timeout over).
func (q *Queue) ReceiveWait(done <-chan struct{}, max int, visibility, wait time.Duration) ([]Received, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		out, err := q.Receive(max, visibility)
		if err != nil || len(out) > 0 {
			return out, err
		}
		q.b.mu.Lock()
		ready, next := q.ready, q.nextVisible()
		q.b.mu.Unlock()
		var tick <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(max1ms(next.Sub(q.b.now())))
			tick = t.C
		}
		stop := false
		select {
		case <-ready:
		case <-tick:
		case <-deadline.C:
			stop = true
		case <-done:
			stop = true
		}
		if t != nil {
			t.Stop()
		}
		if stop {
			return nil, nil
		}
	}
}

func max1ms(d time.Duration) time.Duration { return max(d, time.Millisecond) }

// nextVisible is when the next message becomes receivable (zero: the queue is
// empty). b.mu is held.
func (q *Queue) nextVisible() time.Time {
	now := q.b.now()
	q.promote(now)
	switch {
	case q.visibleLen() > 0:
		return now
	case len(q.inFlight) > 0:
		return q.inFlight[0].VisibleAt
	}
	return time.Time{}
}

// find returns the message a receipt handle names and whether the handle is its latest.
func (q *Queue) find(handle string) (*Message, bool, error) {
	id, nonce, ok := strings.Cut(handle, ".")
	if !ok || id == "" || nonce == "" {
		return nil, false, fmt.Errorf("%w: %q", ErrInvalidReceiptHandle, handle)
	}
	if m, ok := q.byID[id]; ok {
		return m, m.Receipt == nonce, nil
	}
	return nil, false, nil
}

// Delete deletes the message received with handle. As on SQS, a handle of a message
// already deleted, or one older than the message's latest receive, succeeds without
// deleting anything; a malformed handle fails with ErrInvalidReceiptHandle.
func (q *Queue) Delete(handle string) error {
	return q.DeleteBatch([]string{handle})[0]
}

// DeleteBatch deletes several messages; each handle has its own result.
func (q *Queue) DeleteBatch(handles []string) []error {
	b := q.b
	b.mu.Lock()
	errs := make([]error, len(handles))
	if b.closed {
		b.mu.Unlock()
		for i := range errs {
			errs[i] = ErrClosed
		}
		return errs
	}
	var gone []*Message
	for i, h := range handles {
		m, latest, err := q.find(h)
		if err != nil {
			errs[i] = err
			continue
		}
		if m != nil && latest {
			gone = append(gone, m)
		}
	}
	// Gone from memory at once (no receive hands it out again); the store's delete
	// rides on a later commit, not waited for. A crash before it only means the
	// message is received again after a restart: at least once, as SQS allows.
	if len(gone) > 0 {
		q.removeLocked(gone)
		b.store.remove(q.cfg.Name, gone)
	}
	b.mu.Unlock()
	return errs
}

// Fail records why the message received with handle was not processed (devstack's
// note, shown with dead letters). The message stays hidden until its visibility
// timeout ends, as a failed message of an event source mapping does. A stale handle
// changes nothing.
func (q *Queue) Fail(handle, reason string) error {
	b := q.b
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	m, latest, err := q.find(handle)
	if err != nil || m == nil || !latest {
		b.mu.Unlock()
		return err
	}
	const maxNote = 1024
	if len(reason) > maxNote {
		reason = reason[:maxNote]
	}
	m.LastError = reason
	// Recorded with the next commit, not waited for: the note is devstack's, and a
	// move to the dead-letter queue commits it with the message.
	b.store.update(q.cfg.Name, []*Message{m})
	b.mu.Unlock()
	return nil
}

// Attributes are GetQueueAttributes' approximate counts.
type Attributes struct {
	Visible, NotVisible int
}

// Attributes counts the queue's messages now.
func (q *Queue) Attributes() Attributes {
	b := q.b
	b.mu.Lock()
	defer b.mu.Unlock()
	q.promote(b.now())
	return Attributes{Visible: q.visibleLen(), NotVisible: len(q.inFlight)}
}

// Messages returns a copy of every message in the queue (for listings), by Seq.
func (q *Queue) Messages() []Message {
	b := q.b
	b.mu.Lock()
	defer b.mu.Unlock()
	q.expire(b.now().UTC())
	out := make([]Message, 0, q.len())
	for _, m := range q.bySeq() {
		out = append(out, *m)
	}
	return out
}

// bySeq lists the queue's messages in the order they were sent. b.mu is held.
func (q *Queue) bySeq() []*Message {
	out := make([]*Message, 0, len(q.byID))
	for _, m := range q.byID {
		out = append(out, m)
	}
	slices.SortFunc(out, func(x, y *Message) int { return cmp.Compare(x.Seq, y.Seq) })
	return out
}

// MoveMessages moves messages of q (a dead-letter queue) to dest as fresh messages
// (new ids, receive count 0, the original sent time kept, as StartMessageMoveTask
// does), all of them when ids is empty; an unknown id fails with ErrMessageMissing
// and moves nothing. It returns how many it moved.
func (q *Queue) MoveMessages(dest *Queue, ids ...string) (int, error) {
	b := q.b
	if _, err := q.begin(); err != nil {
		return 0, err
	}
	defer b.mu.Unlock()
	pick := q.bySeq()
	if len(ids) > 0 {
		pick = nil
		var missing []string
		for _, id := range ids {
			if m, ok := q.byID[id]; ok {
				pick = append(pick, m)
			} else {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return 0, fmt.Errorf("%w in %s: %s", ErrMessageMissing, q.cfg.Name, strings.Join(missing, ", "))
		}
	}
	if len(pick) == 0 {
		return 0, nil
	}
	if dest.len()+dest.sending+len(pick) > dest.cfg.MaxMessages {
		return 0, fmt.Errorf("%w: %s cannot take %d more messages", ErrQueueFull, dest.cfg.Name, len(pick))
	}
	fresh := make([]*Message, len(pick))
	for i, m := range pick {
		b.seq++
		fresh[i] = &Message{ID: newID(), Body: m.Body, Seq: b.seq, SentAt: m.SentAt}
	}
	if err := b.store.move(q.cfg.Name, dest.cfg.Name, pick, fresh); err != nil {
		return 0, fmt.Errorf("move %s to %s: %w", q.cfg.Name, dest.cfg.Name, err)
	}
	q.removeLocked(pick)
	for _, m := range fresh {
		dest.add(m)
	}
	dest.wake()
	return len(fresh), nil
}

// Enqueue sends byte bodies as one SendBatch (all or none): the shape of the
// services' queue ports (notifications.BatchQueue), so devstack hands them its queue.
func (q *Queue) Enqueue(ctx context.Context, bodies [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := make([]string, len(bodies))
	for i, b := range bodies {
		s[i] = string(b)
	}
	_, err := q.SendBatch(s)
	return err
}
