package eventsapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/tools/local/bus"
)

// DevClient calls the developer endpoints, for devstack subcommands
// (e.g. `devstack dead-letters`, `devstack tail`).
type DevClient struct {
	// BaseURL is where the handler is mounted, e.g. "http://127.0.0.1:8080/_aws/events".
	BaseURL string
	// HTTP is the client to use; http.DefaultClient if nil.
	HTTP *http.Client
	// Credentials, when set, sign every request with AWS Signature Version 4, as
	// devstack requires (its developer principal: `devstack credentials`).
	Credentials aws.CredentialsProvider
	// Region is the signing region; us-east-1 if empty.
	Region string
}

// send signs req (when the client has credentials) and sends it.
func (c DevClient) send(req *http.Request, body []byte) (*http.Response, error) {
	if c.Credentials != nil {
		creds, err := c.Credentials.Retrieve(req.Context())
		if err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		region := c.Region
		if region == "" {
			region = "us-east-1"
		}
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(req.Context(), creds, req, hex.EncodeToString(sum[:]), "events", region, time.Now()); err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
	}
	return c.http().Do(req)
}

func (c DevClient) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c DevClient) url(path string) string { return strings.TrimSuffix(c.BaseURL, "/") + path }

// responseError turns a non-2xx answer into an error carrying its problem detail.
func responseError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p httpapi.Problem
	if json.Unmarshal(body, &p) == nil && p.Status != 0 {
		return &p
	}
	return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
}

func (c DevClient) do(ctx context.Context, method, path string, body any, dst any) error {
	var raw []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		raw = b
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req, raw)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %w", method, path, responseError(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(dst); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// DeadLetters lists every dead letter, page by page.
func (c DevClient) DeadLetters(ctx context.Context) ([]bus.DeadLetter, error) {
	var all []bus.DeadLetter
	cursor := ""
	for {
		page, err := c.DeadLetterPage(ctx, bus.MaxDeadLetterPage, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, page.DeadLetters...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// DeadLetterPage lists one page of up to limit dead letters (0: the server's
// default) after cursor ("" for the first page).
func (c DevClient) DeadLetterPage(ctx context.Context, limit int, cursor string) (DeadLettersResponse, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	path := "/dead-letters"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out DeadLettersResponse
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// Redrive redrives the given dead letters, or all of them when ids is empty.
func (c DevClient) Redrive(ctx context.Context, ids ...string) (int, error) {
	req := RedriveRequest{IDs: ids, All: len(ids) == 0}
	var out RedriveResponse
	if err := c.do(ctx, http.MethodPost, "/dead-letters/redrive", req, &out); err != nil {
		return 0, err
	}
	return out.Redriven, nil
}

// Stats returns the bus counters.
func (c DevClient) Stats(ctx context.Context) (bus.Stats, error) {
	var out bus.Stats
	err := c.do(ctx, http.MethodGet, "/stats", nil, &out)
	return out, err
}

// Tail calls fn with every event on the bus matching pattern (empty: all) until ctx
// is done, fn returns an error, or the server ends the stream.
func (c DevClient) Tail(ctx context.Context, pattern string, fn func(events.EventBridgeEvent) error) error {
	path := "/tail"
	if pattern != "" {
		path += "?pattern=" + url.QueryEscape(pattern)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path), nil)
	if err != nil {
		return err
	}
	resp, err := c.send(req, nil)
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tail: %w", responseError(resp))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20) // an event may be up to 1 MB
	for sc.Scan() {
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("tail: decode event: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("tail: %w", err)
	}
	return ctx.Err()
}

// Call calls another developer endpoint under the same base path, signed alike (e.g.
// devstack's pipe dead letters): body (if not nil) and dst as JSON.
func (c DevClient) Call(ctx context.Context, method, path string, body, dst any) error {
	return c.do(ctx, method, path, body, dst)
}
