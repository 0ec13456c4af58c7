package main_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/localiam"
)

// How these tests observe the notifications store from outside the process: devstack
// runs with JSON logs at info level, and fan-out logs one "fan-out done" line per
// ConcertViewUpdated with the number of subscribers it found in the store and how
// many posts were sent, got 410 (gone) or failed. A connection row that is gone from
// the store is not among the subscribers of the next fan-out. The gateway's side is
// GET /_aws/ws/@connections/{id}: 410 GoneException once it does not know the id.

// logRecord is one JSON log line of devstack.
type logRecord map[string]any

func logRecords(p *proc) []logRecord {
	var out []logRecord
	for line := range strings.SplitSeq(p.logs.String(), "\n") {
		var r logRecord
		if json.Unmarshal([]byte(line), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

func (r logRecord) str(k string) string { s, _ := r[k].(string); return s }
func (r logRecord) num(k string) int64  { f, _ := r[k].(float64); return int64(f) }

// connectedIDs are the ids of every connection the gateway accepted, in order.
func connectedIDs(p *proc) []string {
	var ids []string
	for _, r := range logRecords(p) {
		if r.str("msg") == "websocket connected" {
			ids = append(ids, r.str("connectionId"))
		}
	}
	return ids
}

// fanOutStats is a "fan-out done" log line.
type fanOutStats struct {
	Version                         int64
	Subscribers, Sent, Gone, Failed int64
}

// fanOuts are the fan-outs of concertID's versions, first line per version.
func fanOuts(p *proc, concertID string) map[int64]fanOutStats {
	out := map[int64]fanOutStats{}
	for _, r := range logRecords(p) {
		if r.str("msg") != "fan-out done" || r.str("concertId") != concertID {
			continue
		}
		v := r.num("version")
		if _, seen := out[v]; !seen {
			out[v] = fanOutStats{Version: v, Subscribers: r.num("subscribers"), Sent: r.num("sent"), Gone: r.num("gone"), Failed: r.num("failed")}
		}
	}
	return out
}

// waitFanOut waits for the fan-out log line of concertID at version.
func waitFanOut(t *testing.T, p *proc, concertID string, version int64) fanOutStats {
	t.Helper()
	var got fanOutStats
	eventually(t, fmt.Sprintf("fan-out of %s v%d logged", concertID, version), func() error {
		s, ok := fanOuts(p, concertID)[version]
		if !ok {
			return fmt.Errorf("no fan-out line yet")
		}
		got = s
		return nil
	})
	return got
}

// connectionStatus is the management API's GET /@connections/{id} status.
func connectionStatus(t *testing.T, p *proc, id string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.url+"/_aws/ws/@connections/"+id, nil)
	require.NoError(t, err)
	p.signAs(t, req, localiam.Notifications)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode == http.StatusGone {
		require.Equal(t, "GoneException", res.Header.Get("X-Amzn-ErrorType"))
	}
	return res.StatusCode
}

func sellOne(t *testing.T, p *proc, id string) int64 {
	t.Helper()
	res := do(t, http.MethodPost, p.url+"/concerts/"+id+"/tickets", `{"quantity":1}`)
	require.Equal(t, http.StatusOK, res.status, "sell: %s", res.body)
	var w written
	res.json(t, &w)
	return w.Version
}

func scheduleConcert(t *testing.T, p *proc, artist string) string {
	t.Helper()
	res := do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(
		`{"artist":%q,"venue":"Nowhere","startsAt":%q,"capacity":1000,"priceCents":500}`, artist, future(48*time.Hour)))
	require.Equal(t, http.StatusCreated, res.status, "schedule: %s", res.body)
	var w written
	res.json(t, &w)
	eventually(t, "concert "+w.ID+" in the read model", func() error {
		if res := do(t, http.MethodGet, p.url+"/concerts/"+w.ID, ""); res.status != http.StatusOK {
			return fmt.Errorf("GET: %d", res.status)
		}
		return nil
	})
	return w.ID
}

var jsonLogs = []string{"-log", "json", "-log-level", "info"}

// TestVanishedConnectionRemovedOnFirstGone: clients whose connections vanish without
// a $disconnect (devstack is killed while they are connected, so the store keeps their
// rows but the gateway that comes back does not know them) are posted to once, get
// 410 GoneException, and are deleted from the store right then. Criterion: the fan-outs
// after the restart find every stale subscriber gone, the live one is served, and the
// next fan-out finds only the live subscriber.
func TestVanishedConnectionRemovedOnFirstGone(t *testing.T) {
	const vanishing = 3
	data, addr := t.TempDir(), freeAddr(t)
	args := append([]string{"-data", data, "-auth=off"}, jsonLogs...)
	p := startDevstack(t, addr, args...)
	id := scheduleConcert(t, p, "Vanishing Audience")

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for range vanishing {
		s, err := subscribe(ctx, p.url, id)
		require.NoError(t, err)
		t.Cleanup(func() { s.conn.CloseNow() })
	}
	doomed := connectedIDs(p)
	require.Len(t, doomed, vanishing)
	for _, c := range doomed {
		require.Equal(t, http.StatusOK, connectionStatus(t, p, c), "connection %s before the crash", c)
	}

	// A crash: no $disconnect runs, the rows stay in the durable store.
	require.NoError(t, p.cmd.Process.Kill())
	<-p.done
	p = startDevstack(t, addr, args...)
	for _, c := range doomed {
		require.Equal(t, http.StatusGone, connectionStatus(t, p, c), "connection %s after the restart", c)
	}

	live, err := subscribe(ctx, p.url, id)
	require.NoError(t, err)
	t.Cleanup(func() { live.conn.CloseNow() })

	// After a kill, the concert's earlier event may be delivered again (the pipe's
	// checkpoint, the bus's and the queue's removals are bookkeeping written a little
	// later, and at-least-once allows the duplicate); such a redelivery can be the one
	// that finds the stale rows gone. So: the sold version reaches the live client, and
	// the stale rows are found gone by it or by a fan-out before it.
	v := sellOne(t, p, id)
	first := waitFanOut(t, p, id, v)
	require.Equal(t, int64(1), first.Sent, "first fan-out after the restart: got %+v, want the live client served", first)
	require.Zero(t, first.Failed, "first fan-out after the restart: got %+v", first)
	require.Equal(t, 1+first.Gone, first.Subscribers, "first fan-out after the restart: got %+v, want every stale row it saw found gone", first)
	v = sellOne(t, p, id)
	second := waitFanOut(t, p, id, v)
	require.Equal(t, fanOutStats{Version: v, Subscribers: 1, Sent: 1}, second,
		"second fan-out: the gone connections' rows were removed, only the live one is left")
	waitAll(t, []*subscriber{live}, id, v)
}

// TestAbandonedSocketRemoved: a raw TCP client does the WebSocket handshake, subscribes
// and then drops its socket with a reset, without a close frame. The gateway notices
// the dead socket, forgets the connection (GET /@connections/{id} answers 410) and
// runs $disconnect, which deletes its rows: the next fan-out does not even try it.
func TestAbandonedSocketRemoved(t *testing.T) {
	p := startDevstack(t, freeAddr(t), append([]string{"-data", t.TempDir(), "-auth=off"}, jsonLogs...)...)
	id := scheduleConcert(t, p, "Abandoned Socket")

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	live, err := subscribe(ctx, p.url, id)
	require.NoError(t, err)
	t.Cleanup(func() { live.conn.CloseNow() })
	liveID := connectedIDs(p)
	require.Len(t, liveID, 1)

	raw := rawSubscribe(t, p.addr, id)
	// The connection's log line may follow the subscription's answer by a moment.
	var ids []string
	require.Eventually(t, func() bool { ids = connectedIDs(p); return len(ids) == 2 }, 5*time.Second, 10*time.Millisecond,
		"want 2 connections in devstack's log")
	rawID := ids[1]
	require.Equal(t, http.StatusOK, connectionStatus(t, p, rawID))

	v := sellOne(t, p, id)
	require.Equal(t, fanOutStats{Version: v, Subscribers: 2, Sent: 2}, waitFanOut(t, p, id, v), "both connections are served")
	msg := raw.readText(t)
	require.Contains(t, msg, `"type":"concert.updated"`)

	raw.abort(t)
	eventually(t, "gateway forgets the abandoned connection", func() error {
		if s := connectionStatus(t, p, rawID); s != http.StatusGone {
			return fmt.Errorf("GET @connections/%s: %d, want 410", rawID, s)
		}
		return nil
	})
	eventually(t, "$disconnect ran for the abandoned connection", func() error {
		for _, r := range logRecords(p) {
			if r.str("msg") == "websocket disconnected" && r.str("connectionId") == rawID {
				if code := r.num("code"); code != 1006 {
					return fmt.Errorf("disconnected with code %d, want 1006 (no close frame)", code)
				}
				return nil
			}
		}
		return fmt.Errorf("no disconnect logged")
	})

	v = sellOne(t, p, id)
	require.Equal(t, fanOutStats{Version: v, Subscribers: 1, Sent: 1}, waitFanOut(t, p, id, v),
		"the abandoned connection's rows are gone: fan-out does not try it")
	waitAll(t, []*subscriber{live}, id, v)
	require.Equal(t, http.StatusOK, connectionStatus(t, p, liveID[0]), "the live connection is untouched")
}

// rawWS is a hand-made WebSocket client on a bare TCP connection, so the test controls
// exactly how it goes away.
type rawWS struct {
	conn *net.TCPConn
	rd   *bufio.Reader
}

func rawSubscribe(t *testing.T, addr, concertID string) *rawWS {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(15*time.Second)))
	var key [16]byte
	_, _ = rand.Read(key[:])
	_, err = fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", addr, base64.StdEncoding.EncodeToString(key[:]))
	require.NoError(t, err)
	rd := bufio.NewReader(c)
	resp, err := http.ReadResponse(rd, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	ws := &rawWS{conn: c.(*net.TCPConn), rd: rd}
	ws.writeText(t, fmt.Sprintf(`{"action":"subscribe","concertId":%q}`, concertID))
	require.JSONEq(t, fmt.Sprintf(`{"type":"subscribed","concertId":%q}`, concertID), ws.readText(t))
	return ws
}

// writeText sends one masked text frame (clients must mask, RFC 6455 5.3).
func (w *rawWS) writeText(t *testing.T, s string) {
	t.Helper()
	payload := []byte(s)
	require.Less(t, len(payload), 126, "short frames only")
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	_, err := w.conn.Write(frame)
	require.NoError(t, err)
}

// readText reads one unfragmented, unmasked text frame from the server.
func (w *rawWS) readText(t *testing.T) string {
	t.Helper()
	var head [2]byte
	_, err := io.ReadFull(w.rd, head[:])
	require.NoError(t, err)
	require.Equal(t, byte(0x81), head[0], "want a final text frame")
	n := int(head[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		_, err = io.ReadFull(w.rd, ext[:])
		require.NoError(t, err)
		n = int(ext[0])<<8 | int(ext[1])
	case 127:
		t.Fatal("unexpectedly large frame")
	}
	payload := make([]byte, n)
	_, err = io.ReadFull(w.rd, payload)
	require.NoError(t, err)
	return string(payload)
}

// abort drops the socket with a TCP reset: no close frame, no FIN handshake.
func (w *rawWS) abort(t *testing.T) {
	t.Helper()
	require.NoError(t, w.conn.SetLinger(0))
	require.NoError(t, w.conn.Close())
}
