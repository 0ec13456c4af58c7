package pipe

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/tools/local/internal/atomicfile"
)

// A batch that exhausted its retries goes to the dead-letter queue as its stream
// coordinates, not its records: for a DynamoDB stream source AWS sends the batch's
// shard, first and last sequence numbers and size (the layout below is the
// DDBStreamBatchInfo of Lambda's on-failure record for stream sources), and the
// records stay in the stream. Here they stay in the event log, so a redrive reads
// them again by their positions.

// ConditionRetryAttemptsExhausted is why a batch was dead-lettered.
const ConditionRetryAttemptsExhausted = "RetryAttemptsExhausted"

// ShardID is the one shard of devstack's stream: the event log's feed is one ordered
// sequence.
const ShardID = "shardId-00000000000000000001-local"

// MaxDeadLetters bounds the dead-letter store. A full store stops the pipe at the
// failing batch (logged as such) until dead letters are redriven, as a pipe blocks
// when it cannot write to its dead-letter queue.
const MaxDeadLetters = 10000

// deadLetterIDPrefix tells a pipe dead letter from a bus one ("dl-").
const deadLetterIDPrefix = "pdl-"

// Errors of the dead-letter store.
var (
	ErrDeadLettersFull   = fmt.Errorf("pipe dead-letter store holds %d batches: redrive them (devstack dead-letters redrive)", MaxDeadLetters)
	ErrDeadLetterMissing = errors.New("pipe dead letter not found")
)

// DeadLetter is one batch given up after MaxRetryAttempts retries.
type DeadLetter struct {
	ID                     string          `json:"id"`
	Pipe                   string          `json:"pipe"`
	Condition              string          `json:"condition"`
	ApproximateInvokeCount int             `json:"approximateInvokeCount"`
	LastError              string          `json:"lastError"`
	Timestamp              time.Time       `json:"timestamp"`
	BatchInfo              StreamBatchInfo `json:"DDBStreamBatchInfo"`
}

// StreamBatchInfo locates a batch in the stream.
type StreamBatchInfo struct {
	ShardID                         string    `json:"shardId"`
	StartSequenceNumber             string    `json:"startSequenceNumber"`
	EndSequenceNumber               string    `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord time.Time `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  time.Time `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int       `json:"batchSize"`
	StreamArn                       string    `json:"streamArn"`
}

// positions are the feed positions of the batch's first and last record.
func (i StreamBatchInfo) positions() (first, last uint64, err error) {
	first, err1 := strconv.ParseUint(i.StartSequenceNumber, 10, 64)
	last, err2 := strconv.ParseUint(i.EndSequenceNumber, 10, 64)
	if err := errors.Join(err1, err2); err != nil || first == 0 || last < first {
		return 0, 0, fmt.Errorf("sequence numbers %q..%q are not a batch of this stream", i.StartSequenceNumber, i.EndSequenceNumber)
	}
	return first, last, nil
}

func (p *Pipe) newDeadLetter(batch []eventlog.FeedEntry, invokes int, lastErr error) DeadLetter {
	first, last := batch[0], batch[len(batch)-1]
	return DeadLetter{
		ID:                     deadLetterIDPrefix + rand.Text(),
		Pipe:                   p.cfg.Name,
		Condition:              ConditionRetryAttemptsExhausted,
		ApproximateInvokeCount: invokes,
		LastError:              fmt.Sprint(lastErr),
		Timestamp:              time.Now().UTC(),
		BatchInfo: StreamBatchInfo{
			ShardID:                         ShardID,
			StartSequenceNumber:             SequenceNumber(first.Position),
			EndSequenceNumber:               SequenceNumber(last.Position),
			ApproximateArrivalOfFirstRecord: first.Event.OccurredAt.UTC(),
			ApproximateArrivalOfLastRecord:  last.Event.OccurredAt.UTC(),
			BatchSize:                       len(batch),
			StreamArn:                       p.sourceARN,
		},
	}
}

// DeadLetters lists the dead-lettered batches, oldest first.
func (p *Pipe) DeadLetters() ([]DeadLetter, error) { return p.cfg.DeadLetters.List() }

// Redrive puts the dead-lettered batches with the given ids (none: every one) through
// the pipe again: their records are read from the log by their sequence numbers,
// enriched and put on the bus, retried as a live batch is (the policy's retries); a
// batch that still fails stays a dead letter and its error is returned. It returns
// how many batches were redriven.
func (p *Pipe) Redrive(ctx context.Context, ids ...string) (int, error) {
	all, err := p.cfg.DeadLetters.List()
	if err != nil {
		return 0, err
	}
	todo := all
	if len(ids) > 0 {
		todo = nil
		for _, id := range ids {
			i := slices.IndexFunc(all, func(d DeadLetter) bool { return d.ID == id })
			if i < 0 {
				return 0, fmt.Errorf("%w: %s", ErrDeadLetterMissing, id)
			}
			todo = append(todo, all[i])
		}
	}
	n := 0
	for _, dl := range todo {
		first, last, err := dl.BatchInfo.positions()
		if err != nil {
			return n, fmt.Errorf("redrive %s: %w", dl.ID, err)
		}
		entries, err := p.cfg.Feed.ReadFeed(ctx, first-1, int(last-first+1))
		if err != nil {
			return n, fmt.Errorf("redrive %s: read the log: %w", dl.ID, err)
		}
		entries = slices.DeleteFunc(entries, func(e eventlog.FeedEntry) bool { return e.Position > last })
		if len(entries) > 0 {
			if _, err := p.deliverBatch(ctx, entries, false); err != nil {
				return n, fmt.Errorf("redrive %s: %w", dl.ID, err)
			}
		}
		if err := p.cfg.DeadLetters.Remove(dl.ID); err != nil {
			return n, fmt.Errorf("redrive %s: %w", dl.ID, err)
		}
		n++
	}
	return n, nil
}

// DeadLetterStore keeps dead-lettered batches (the pipe's SQS dead-letter queue).
type DeadLetterStore interface {
	Add(DeadLetter) error // ErrDeadLettersFull past MaxDeadLetters
	List() ([]DeadLetter, error)
	Remove(id string) error // ErrDeadLetterMissing if absent
}

var (
	_ DeadLetterStore = (*MemoryDeadLetters)(nil)
	_ DeadLetterStore = (*FileDeadLetters)(nil)
)

// added and removed are the two changes a store makes, shared by both stores.
func added(dls []DeadLetter, dl DeadLetter) ([]DeadLetter, error) {
	if len(dls) >= MaxDeadLetters {
		return dls, ErrDeadLettersFull
	}
	return append(dls, dl), nil
}

func removed(dls []DeadLetter, id string) ([]DeadLetter, error) {
	i := slices.IndexFunc(dls, func(d DeadLetter) bool { return d.ID == id })
	if i < 0 {
		return dls, fmt.Errorf("%w: %s", ErrDeadLetterMissing, id)
	}
	return slices.Delete(dls, i, i+1), nil
}

// MemoryDeadLetters keeps dead letters in memory, for an in-memory stack.
type MemoryDeadLetters struct {
	mu  sync.Mutex
	dls []DeadLetter
}

// Add appends dl.
func (m *MemoryDeadLetters) Add(dl DeadLetter) (err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dls, err = added(m.dls, dl)
	return err
}

// List returns the dead letters, oldest first.
func (m *MemoryDeadLetters) List() ([]DeadLetter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.dls), nil
}

// Remove deletes one dead letter.
func (m *MemoryDeadLetters) Remove(id string) (err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dls, err = removed(m.dls, id)
	return err
}

// FileDeadLetters keeps dead letters as one JSON array in a file, replaced atomically
// on every change: dead letters are rare and bounded, so rewriting is cheap, and a
// crash leaves the old or the new list.
type FileDeadLetters struct {
	path string
	mu   sync.Mutex
}

// NewFileDeadLetters stores dead letters at path; the directory must exist.
func NewFileDeadLetters(path string) *FileDeadLetters { return &FileDeadLetters{path: path} }

func (f *FileDeadLetters) load() ([]DeadLetter, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pipe dead letters: %w", err)
	}
	var dls []DeadLetter
	if err := json.Unmarshal(b, &dls); err != nil {
		return nil, fmt.Errorf("pipe dead letters %s: %w", f.path, err)
	}
	return dls, nil
}

// update loads the list, changes it and saves it durably.
func (f *FileDeadLetters) update(change func([]DeadLetter) ([]DeadLetter, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dls, err := f.load()
	if err != nil {
		return err
	}
	if dls, err = change(dls); err != nil {
		return err
	}
	b, err := json.Marshal(dls)
	if err != nil {
		return fmt.Errorf("encode pipe dead letters: %w", err)
	}
	if err := atomicfile.Write(f.path, b, 0o600); err != nil {
		return fmt.Errorf("save pipe dead letters: %w", err)
	}
	return nil
}

// Add appends dl durably.
func (f *FileDeadLetters) Add(dl DeadLetter) error {
	return f.update(func(dls []DeadLetter) ([]DeadLetter, error) { return added(dls, dl) })
}

// List returns the dead letters, oldest first.
func (f *FileDeadLetters) List() ([]DeadLetter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.load()
}

// Remove deletes one dead letter durably.
func (f *FileDeadLetters) Remove(id string) error {
	return f.update(func(dls []DeadLetter) ([]DeadLetter, error) { return removed(dls, id) })
}
