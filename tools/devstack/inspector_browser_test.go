package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// pollFor waits until the JavaScript expression expr is true in the page.
func pollFor(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	require.NoError(t, err, "waiting for %s (%s)", what, expr)
}

// evalString evaluates the JavaScript expression expr, a string, in the page.
func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	require.NoError(t, err, "evaluate %s", expr)
	return s
}

// The hops of a ticket sale the timeline must show, each with a duration.
var saleHops = []string{
	"concerts/sell-tickets", "eventlog.Append", "concerts/enrich-events",
	"bus deliver projections-concert-events", "projections/project-concerts",
	"projections/PutEvents ConcertViewUpdated", "bus deliver notifications-view-updates", "notifications/fan-out",
}

// TestInspectorInBrowser uses the inspector as a developer would, in headless Chromium
// against a devstack process with auth on: schedule and sell on the board, open the
// concert's timeline and see every hop of the sale with its duration; then break the
// projections consumer and repair it from the page. -faults fails every function's
// invocations alike, so the consumer is broken the way EventBridge's unordered delivery
// breaks it:
// an event ahead of the log (version 4 while the log holds 2, put with the developer's
// key as any producer's event may arrive early) fails its gap fill on every attempt
// and is dead-lettered after the rule's retries; once the log holds versions 3 and 4
// (two more sales from the board) the view catches up, and the redrive from the page
// delivers the dead letter, which the projection now takes as a duplicate.
func TestInspectorInBrowser(t *testing.T) {
	ctx := browser(t)
	data, addr := t.TempDir(), freeAddr(t)
	p := startDevstack(t, addr, "-data", data) // auth on
	out, err := exec.Command(devstackBin, "credentials", "-data", data).Output()
	require.NoError(t, err)
	creds := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		creds[k] = v
	}

	poll := func(what, expr string, timeout time.Duration) { t.Helper(); pollFor(t, ctx, what, expr, timeout) }
	text := func(expr string) string { t.Helper(); return evalString(t, ctx, expr) }
	sell := func(id string, n, wantVersion int) {
		t.Helper()
		card := cardJS(id)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`.card[data-id="`+id+`"] .sell-form [name=quantity]`), fmt.Sprint(n)),
			chromedp.Click(chromedp.CSS(`.card[data-id="`+id+`"] .sell-form button`)),
		))
		poll(fmt.Sprintf("version %d on the card", wantVersion), fmt.Sprintf(`%s.dataset.version === "%d"`, card, wantVersion), 15*time.Second)
	}

	// Schedule and sell on the board.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(p.url+"/")))
	poll("the board to fetch its own token", `document.querySelector("#auth").textContent === "auth: organizer token"`, 15*time.Second)
	const artist = "Inspector Quartet"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=artist]`), artist),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=venue]`), "Trace Hall"),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=startsAt]`), time.Now().Add(60*24*time.Hour).Format("2006-01-02")+"T20:00"),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=capacity]`), "20"),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=price]`), "30"),
		chromedp.Click(chromedp.CSS(`#schedule-form button[type=submit]`)),
	))
	poll("the scheduled concert's card", fmt.Sprintf(`[...document.querySelectorAll(".card .artist")].some(e => e.textContent === %s)`, jsString(artist)), 15*time.Second)
	id := text(fmt.Sprintf(`[...document.querySelectorAll(".card")].find(c => c.querySelector(".artist").textContent === %s).dataset.id`, jsString(artist)))
	sell(id, 2, 2)

	// The timeline: every hop of the sale, each with a duration.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(p.url+"/inspector#concert="+id)))
	sale := `document.querySelector('#timeline-events .event[data-version="2"]')`
	hopsJS, _ := json.Marshal(saleHops)
	poll("every hop of the sale on the timeline", fmt.Sprintf(`%s !== null && %s.every(n => [...%s.querySelectorAll(".hop:not(.failed)")].some(h => h.dataset.name === n))`,
		sale, hopsJS, sale), 20*time.Second)
	for _, name := range saleHops {
		dur := text(fmt.Sprintf(`[...%s.querySelectorAll(".hop:not(.failed)")].find(h => h.dataset.name === %s).querySelector(".dur").textContent`, sale, jsString(name)))
		require.Regexp(t, `^\d+\.\d\d ms$`, dur, "hop %s: duration %q", name, dur)
	}
	facts := text(sale + `.querySelector(".event-head").textContent`)
	for _, want := range []string{"rules ", "projections-concert-events", "notifications-view-updates", "view v2", "WebSocket posts", "pipe record", "bus events"} {
		require.Contains(t, facts, want, "the sale's facts")
	}
	screenshot(t, ctx, "inspector-timeline.png")

	// Break the projections consumer: an event ahead of the log.
	eb := eventbridge.NewFromConfig(aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], "")},
		func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(p.url + "/_aws/events") })
	detail := fmt.Sprintf(`{"metadata":{"eventId":"ahead-of-the-log","aggregateId":%q,"aggregateVersion":4,"eventType":"TicketsSold","schemaVersion":1,`+
		`"occurredAt":%q,"correlationId":"inspector-test","causationId":"inspector-test"},"data":{"quantity":1,"ticketsSold":4,"ticketsAvailable":16}}`,
		id, time.Now().UTC().Format(time.RFC3339))
	put, err := eb.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("concerts"), DetailType: aws.String("TicketsSold"), Detail: aws.String(detail), EventBusName: aws.String("concertsys"),
	}}})
	require.NoError(t, err)
	require.Zero(t, put.FailedEntryCount, "%+v", put.Entries)

	// The dead letter shows on the page with its last error (the rule's retries take
	// about 13-25 s with devstack's backoff).
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav .tab[data-tab="dead-letters"]`))))
	row := `document.querySelector("#dl-body tr[data-id]")`
	poll("the dead letter", row+` !== null`, 60*time.Second)
	require.Equal(t, "projections-concert-events", text(row+`.children[0].textContent`))
	require.Contains(t, text(row+`.children[4].textContent`), "ahead of view version", "the last error says why")
	screenshot(t, ctx, "inspector-dead-letter.png")

	// The log catches up with two more sales from the board; the view follows.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(p.url+"/")))
	poll("the card", cardJS(id)+` !== null`, 15*time.Second)
	sell(id, 1, 3)
	sell(id, 1, 4)

	// Redrive from the page; the dead letter goes and the view holds version 4.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(p.url+"/inspector")))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav .tab[data-tab="dead-letters"]`))))
	poll("the dead letter listed", row+` !== null`, 15*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#dl-body tr[data-id] button.redrive`))))
	poll("redriven", `document.querySelector("#dl-message").textContent === "redriven: 1"`, 15*time.Second)
	poll("no dead letter left", row+` === null`, 30*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav .tab[data-tab="subscriptions"]`))))
	sub := `document.querySelector('#subscriptions-body tr[data-rule="projections-concert-events"]')`
	poll("the subscription's counts", sub+` !== null && `+sub+`.children[6].textContent === "1"`, 15*time.Second)
	res := do(t, "GET", p.url+"/concerts/"+id, "")
	var v view
	res.json(t, &v)
	require.Equal(t, int64(4), v.Version, "the view caught up with the log")
	require.Equal(t, 4, v.TicketsSold)

	// The timeline shows the later sales with the view versions they produced.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(p.url+"/inspector#concert="+id)))
	last := `document.querySelector('#timeline-events .event[data-version="4"]')`
	poll("the last sale's view version", last+` !== null && `+last+`.querySelector(".event-head").textContent.includes("view v4")`, 20*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav .tab[data-tab="latency"]`))))
	poll("the latency panel", `document.querySelectorAll("#latency-body tr").length === 5 && document.querySelectorAll("#latency-chart rect").length === 10`, 15*time.Second)
	screenshot(t, ctx, "inspector-latency.png")
}
