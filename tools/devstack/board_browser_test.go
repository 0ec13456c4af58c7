package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumInstall is how CI (and anyone) gets the browser the board test drives.
const chromiumInstall = "apt-get install -y chromium"

// findChromium returns the browser binary: $CHROMIUM if set, else the first of the
// usual names on PATH.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for $CHROMIUM, chromium, chromium-browser, google-chrome): install it with `" + chromiumInstall + "`"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("\n\n*** SKIPPING THE LIVE BOARD BROWSER TEST ***\n*** " + msg + " ***\n\n")
	return ""
}

// artifactDir is $TEST_ARTIFACTS/<test> when set, else the test's artifact directory
// (kept with go test -artifacts, removed otherwise).
func artifactDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("TEST_ARTIFACTS"); dir != "" {
		dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	return t.ArtifactDir()
}

// browser starts a headless Chromium with a fresh profile and returns a tab context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := findChromium(t)
	var output syncBuffer
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&output),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.String())
		}
	})
	// Start the browser now, so a broken installation fails here, clearly.
	require.NoError(t, chromedp.Do(ctx), "start %s", path)
	return ctx
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // strings always marshal
	return string(b)
}

// cardJS is an expression for the card element of concert id.
func cardJS(id string) string {
	return fmt.Sprintf("document.querySelector('.card[data-id=' + JSON.stringify(%s) + ']')", jsString(id))
}

// TestLiveBoardInBrowser drives the board at GET / in headless Chromium with auth on:
// the page gets its own token, schedules a concert through its form, follows sales
// made by another client over the WebSocket without reloading, shows the detail of
// failed writes, renders hostile data as text, and catches up after devstack restarts.
func TestLiveBoardInBrowser(t *testing.T) {
	ctx := browser(t)
	data, addr := t.TempDir(), freeAddr(t)
	p := startDevstack(t, addr, "-data", data) // auth on
	out, err := exec.Command(devstackBin, "token", "-data", data).Output()
	require.NoError(t, err)
	auth := "Authorization: Bearer " + strings.TrimSpace(string(out))

	var mu sync.Mutex
	var exceptions []string
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			msg := e.ExceptionDetails.Text
			if ex := e.ExceptionDetails.Exception; ex != nil {
				msg += " " + ex.Description
			}
			exceptions = append(exceptions, msg)
			mu.Unlock()
		}
	}))

	poll := func(what, expr string) { t.Helper(); pollFor(t, ctx, what, expr, 15*time.Second) }
	text := func(expr string) string { t.Helper(); return evalString(t, ctx, expr) }

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(p.url+"/")))
	poll("the board to be live", `document.querySelector("#conn").textContent === "live"`)
	poll("the board to fetch its own token", `document.querySelector("#auth").textContent === "auth: organizer token"`)
	// Survives only as long as the page is not reloaded.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__boardMarker = "still the same page"; true`))
	require.NoError(t, err)
	assertNotReloaded := func() {
		t.Helper()
		require.Equal(t, "still the same page", text(`String(window.__boardMarker)`), "the page was reloaded")
	}

	// Schedule through the form.
	const artist = "Browser Band"
	startsAt := time.Now().Add(60*24*time.Hour).Format("2006-01-02") + "T20:00"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=artist]`), artist),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=venue]`), "Headless Hall"),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=startsAt]`), startsAt),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=capacity]`), "5"),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=price]`), "42.50"),
		chromedp.Click(chromedp.CSS(`#schedule-form button[type=submit]`)),
	))
	poll("the scheduled concert's card", fmt.Sprintf(`[...document.querySelectorAll(".card .artist")].some(e => e.textContent === %s)`, jsString(artist)))
	require.Contains(t, text(`document.querySelector("#schedule-message").textContent`), "Scheduled "+artist)
	id := text(fmt.Sprintf(`[...document.querySelectorAll(".card")].find(c => c.querySelector(".artist").textContent === %s).dataset.id`, jsString(artist)))
	card := cardJS(id)
	require.Equal(t, "0", text(card+`.querySelector(".sold-count").textContent`))
	require.Equal(t, "scheduled", text(card+`.dataset.status`))
	res := do(t, http.MethodGet, p.url+"/concerts/"+id, "")
	require.Equal(t, http.StatusOK, res.status)
	var v view
	res.json(t, &v)
	require.Equal(t, int64(4250), v.PriceCents)
	require.Equal(t, 5, v.Capacity)

	// Another client sells; the page follows over the WebSocket.
	res = do(t, http.MethodPost, p.url+"/concerts/"+id+"/tickets", `{"quantity":3}`, auth)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	poll("3 sold on the card", card+`.querySelector(".sold-count").textContent === "3" && `+card+`.dataset.version === "2"`)
	require.Equal(t, "2", text(card+`.querySelector(".available").textContent`))
	assertNotReloaded()

	// A failing write from the page shows the problem's detail.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`.card[data-id="`+id+`"] .sell-form [name=quantity]`), "5"),
		chromedp.Click(chromedp.CSS(`.card[data-id="`+id+`"] .sell-form button`)),
	))
	poll("the sell error", card+`.querySelector(".message.error") !== null`)
	msg := text(card + `.querySelector(".message").textContent`)
	t.Logf("failed sale shows: %q", msg)
	require.Contains(t, msg, "not enough tickets left")
	require.Equal(t, "3", text(card+`.querySelector(".sold-count").textContent`))

	// A successful write from the page (with its token) sells out the concert.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`.card[data-id="`+id+`"] .sell-form [name=quantity]`), "2"),
		chromedp.Click(chromedp.CSS(`.card[data-id="`+id+`"] .sell-form button`)),
	))
	poll("sold out on the card", card+`.dataset.status === "soldout" && `+card+`.querySelector(".badge").textContent === "sold out"`)
	require.Equal(t, "5", text(card+`.querySelector(".sold-count").textContent`))

	// A validation failure of the schedule form.
	past := time.Now().Add(-48*time.Hour).Format("2006-01-02") + "T20:00"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=artist]`), "Too Late"),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=venue]`), "Yesterday"),
		chromedp.SetValue(chromedp.CSS(`#schedule-form [name=startsAt]`), past),
		chromedp.Click(chromedp.CSS(`#schedule-form button[type=submit]`)),
	))
	poll("the schedule error", `document.querySelector("#schedule-message.error") !== null`)
	msg = text(`document.querySelector("#schedule-message").textContent`)
	t.Logf("failed schedule shows: %q", msg)
	require.Contains(t, msg, "future")

	// Data is text, never markup.
	const hostile = `<img src=x onerror="window.__xss=1">Hostile & Co`
	res = do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(`{"artist":%s,"venue":"<b>Bold</b> Venue","startsAt":%q,"capacity":100,"priceCents":0}`,
		jsString(hostile), future(90*24*time.Hour)), auth)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var hostileConcert written
	res.json(t, &hostileConcert)
	poll("the hostile concert's card", cardJS(hostileConcert.ID)+` !== null`)
	require.Equal(t, hostile, text(cardJS(hostileConcert.ID)+`.querySelector(".artist").textContent`))
	require.Equal(t, "true", text(`String(window.__xss === undefined && document.querySelectorAll("#cards img, #cards b").length === 0)`))

	// More concerts for a fuller picture, one of them cancelled through the page.
	var nightOwls string
	for i, name := range []string{"Night Owls", "Quiet Strings"} {
		res = do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(`{"artist":%q,"venue":"Paradiso","startsAt":%q,"capacity":%d,"priceCents":%d}`,
			name, future(time.Duration(10+i*5)*24*time.Hour), 200+i*300, 3500+i*1000), auth)
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var w written
		res.json(t, &w)
		if i == 0 {
			nightOwls = w.ID
		}
		res = do(t, http.MethodPost, p.url+"/concerts/"+w.ID+"/tickets", fmt.Sprintf(`{"quantity":%d}`, 40+i*50), auth)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		poll(name+" on the board", cardJS(w.ID)+` !== null && `+cardJS(w.ID)+`.dataset.version === "2"`)
		if i == 1 {
			require.NoError(t, chromedp.Do(ctx,
				chromedp.SetValue(chromedp.CSS(`.card[data-id="`+w.ID+`"] .cancel-form [name=reason]`), "the cellist broke a string"),
				chromedp.Click(chromedp.CSS(`.card[data-id="`+w.ID+`"] .cancel-form button`)),
			))
			poll("cancelled on the card", cardJS(w.ID)+`.dataset.status === "cancelled"`)
		}
	}
	assertNotReloaded()

	time.Sleep(1300 * time.Millisecond) // let the update highlights fade
	screenshot(t, ctx, "live-board.png")

	// Catching up after a restart: while devstack restarts and a sale is projected,
	// the page's WebSocket constructor is swapped for one whose connections fail at
	// once (as they do while devstack is down), so the page cannot hear of the sale;
	// once it can reconnect it lists the concerts again and shows the sale, still
	// without a reload.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		window.__RealWebSocket = window.WebSocket;
		window.WebSocket = function FailingWebSocket() {
			const s = { readyState: 3, send() {}, close() {} };
			setTimeout(() => s.onclose && s.onclose({ code: 1006 }), 10);
			return s;
		};
		window.WebSocket.OPEN = 1;
		return true;
	})()`))
	require.NoError(t, err)
	require.NoError(t, p.stop(syscall.SIGTERM))
	poll("the board to notice", `document.querySelector("#conn").textContent !== "live"`)
	p = startDevstack(t, addr, "-data", data)
	// Sales on two concerts while the page cannot hear of them.
	other := hostileConcert.ID
	for _, sale := range []struct {
		id       string
		quantity int
	}{{other, 7}, {nightOwls, 5}} {
		res = do(t, http.MethodPost, p.url+"/concerts/"+sale.id+"/tickets", fmt.Sprintf(`{"quantity":%d}`, sale.quantity), auth)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	}
	eventually(t, "the sales in the read model", func() error {
		for _, c := range []struct {
			id   string
			sold int
		}{{other, 7}, {nightOwls, 45}} {
			var v view
			do(t, http.MethodGet, p.url+"/concerts/"+c.id, "").json(t, &v)
			if v.TicketsSold != c.sold {
				return fmt.Errorf("%s: ticketsSold %d, want %d", c.id, v.TicketsSold, c.sold)
			}
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // the fan-out has nobody to tell
	require.NotEqual(t, "live", text(`document.querySelector("#conn").textContent`), "the blocked page must not be subscribed")
	require.Equal(t, "0", text(cardJS(other)+`.querySelector(".sold-count").textContent`), "the page cannot have heard of the sale")

	// A push without the view (as sent when the view is too large for a WebSocket
	// message) makes the page read GET /concerts/{id}; a push of a version the page
	// already shows is ignored. Both are handed to the page's message handler directly.
	push := func(msg string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`ws.onmessage({ data: %s }); true`, jsString(msg))))
		require.NoError(t, err)
	}
	push(fmt.Sprintf(`{"type":"concert.updated","concertId":%q,"version":2,"viewOmitted":true}`, other))
	poll("the omitted view fetched", cardJS(other)+`.querySelector(".sold-count").textContent === "7" && `+cardJS(other)+`.dataset.version === "2"`)
	push(fmt.Sprintf(`{"type":"concert.updated","concertId":%q,"version":2,"view":{"id":%q,"artist":"stale","venue":"x","startsAt":"2030-01-01T00:00:00Z","capacity":100,"priceCents":0,"ticketsSold":99,"ticketsAvailable":1,"status":"scheduled","version":2}}`, other, other))
	require.Equal(t, "7", text(cardJS(other)+`.querySelector(".sold-count").textContent`), "a version not newer than the shown one must be ignored")
	require.Equal(t, "40", text(cardJS(nightOwls)+`.querySelector(".sold-count").textContent`))

	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.WebSocket = window.__RealWebSocket; true`))
	require.NoError(t, err)
	poll("the board to reconnect", `document.querySelector("#conn").textContent === "live"`)
	poll("the missed sale after the relisting", cardJS(nightOwls)+`.querySelector(".sold-count").textContent === "45"`)
	assertNotReloaded()

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, exceptions, "JavaScript exceptions on the page")
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "screenshot is not a PNG")
	path := filepath.Join(artifactDir(t), name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot of the live board: %s", path)
}

// TestLiveBoardPagingAndFilter runs the board with -auth=off over more concerts than
// one page: it loads further pages through nextCursor on request, filters by status,
// and writes without a token.
func TestLiveBoardPagingAndFilter(t *testing.T) {
	ctx := browser(t)
	p := startDevstack(t, freeAddr(t), "-data", t.TempDir(), "-auth=off")
	const total, pageSize = 57, 50
	var last written
	for i := range total {
		res := do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(
			`{"artist":"Band %02d","venue":"Hall","startsAt":%q,"capacity":10,"priceCents":100}`, i, future(time.Duration(24+i)*time.Hour)))
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		res.json(t, &last)
	}
	res := do(t, http.MethodPost, p.url+"/concerts/"+last.ID+"/cancel", `{"reason":"rain"}`)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	eventually(t, "the cancellation in the read model", func() error {
		res := do(t, http.MethodGet, p.url+"/concerts?status=cancelled", "")
		if !strings.Contains(string(res.body), last.ID) {
			return fmt.Errorf("not listed yet: %s", res.body)
		}
		return nil
	})

	poll := func(what, expr string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
		require.NoError(t, err, "waiting for %s (%s)", what, expr)
	}
	cardCount := `document.querySelectorAll("#cards .card").length`

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(p.url+"/")))
	poll("the board to be live", `document.querySelector("#conn").textContent === "live"`)
	poll("auth off", `document.querySelector("#auth").textContent === "auth: off"`)
	poll("the first page", fmt.Sprintf(`%s === %d && !document.querySelector("#more").hidden`, cardCount, pageSize))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#more"))))
	poll("every page", fmt.Sprintf(`%s === %d && document.querySelector("#more").hidden`, cardCount, total))

	require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#status-filter"), "cancelled")))
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#status-filter").dispatchEvent(new Event("change")); true`))
	require.NoError(t, err)
	poll("only the cancelled concert", fmt.Sprintf(`%s === 1 && document.querySelector("#cards .card").dataset.id === %s`, cardCount, jsString(last.ID)))

	// A write without a token, and the filter applied to a live change.
	require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#status-filter"), "")))
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#status-filter").dispatchEvent(new Event("change")); true`))
	require.NoError(t, err)
	poll("every concert again", fmt.Sprintf(`%s === %d`, cardCount, total))
	first := `document.querySelector("#cards .card")`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#cards .card .cancel-form [name=reason]`), "double booked"),
		chromedp.Click(chromedp.CSS(`#cards .card .cancel-form button`)),
	))
	poll("the page's own cancellation", first+`.dataset.status === "cancelled"`)
	require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#status-filter"), "cancelled")))
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#status-filter").dispatchEvent(new Event("change")); true`))
	require.NoError(t, err)
	poll("both cancelled concerts", cardCount+` === 2`)
}
