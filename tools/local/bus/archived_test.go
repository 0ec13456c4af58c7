package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/bus"
)

// TestArchivedYieldsTheArchiveInTimeOrder: Archived gives the events an archive kept
// (those matching its pattern), oldest first, as EventBridge events without
// replay-name, in memory and in bus.db; it stops when told and names a missing
// archive.
func TestArchivedYieldsTheArchiveInTimeOrder(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(fmt.Sprintf("durable=%v", durable), func(t *testing.T) {
			opts := bus.Options{Name: "b"}
			if durable {
				opts.DataDir = t.TempDir()
			}
			b, err := bus.New(opts)
			require.NoError(t, err)
			t.Cleanup(func() { _ = b.Close(context.Background()) })
			_, err = b.CreateArchive(bus.ArchiveConfig{Name: "concerts", EventPattern: json.RawMessage(`{"source":["concerts"]}`)})
			require.NoError(t, err)
			at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			for _, e := range []struct {
				source string
				n      int
			}{{"concerts", 3}, {"other", 9}, {"concerts", 1}, {"concerts", 2}} {
				_, err := b.Put(context.Background(), []bus.Entry{{Source: e.source, DetailType: "T",
					Detail: json.RawMessage(fmt.Sprintf(`{"n":%d}`, e.n)), Time: at.Add(time.Duration(e.n) * time.Minute)}})
				require.NoError(t, err)
			}
			var got []int
			for raw, err := range b.Archived("concerts") {
				require.NoError(t, err)
				var ev struct {
					Source     string          `json:"source"`
					ReplayName *string         `json:"replay-name"`
					Detail     struct{ N int } `json:"detail"`
				}
				require.NoError(t, json.Unmarshal(raw, &ev))
				require.Equal(t, "concerts", ev.Source)
				require.Nil(t, ev.ReplayName)
				got = append(got, ev.Detail.N)
			}
			require.Equal(t, []int{1, 2, 3}, got, "got %v, want the archived events by time", got)
			n := 0
			for range b.Archived("concerts") {
				n++
				break
			}
			require.Equal(t, 1, n)
			var errs []error
			for _, err := range b.Archived("nope") {
				errs = append(errs, err)
			}
			require.Len(t, errs, 1)
			require.ErrorIs(t, errs[0], bus.ErrArchiveNotFound)
		})
	}
}
