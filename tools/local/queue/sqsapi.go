package queue

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The SQS JSON protocol (awsJson1_0, X-Amz-Target AmazonSQS.<Operation>) over a
// Broker, for the AWS SDK's sqs client with BaseEndpoint: SendMessage(Batch),
// ReceiveMessage, DeleteMessage(Batch), GetQueueUrl, ListQueues, GetQueueAttributes,
// ListQueueTags, ListDeadLetterSourceQueues, StartMessageMoveTask and
// ListMessageMoveTasks.

// maxAPIBody bounds a request body: a SendMessageBatch of 256 KB in JSON with escapes.
const maxAPIBody = 2 << 20

// API serves the broker's queues; BaseURL (e.g. http://127.0.0.1:8080/_aws/sqs) is
// where it is mounted, for queue URLs; Region and Account make queue ARNs.
type API struct {
	Broker          *Broker
	BaseURL         string
	Region, Account string

	mu    sync.Mutex
	tasks map[string]*moveTask // by source ARN: the latest task
}

type moveTask struct {
	Handle           string `json:"TaskHandle"`
	Status           string `json:"Status"`
	SourceArn        string `json:"SourceArn"`
	DestinationArn   string `json:"DestinationArn,omitempty"`
	Moved            int64  `json:"ApproximateNumberOfMessagesMoved"`
	ToMove           int64  `json:"ApproximateNumberOfMessagesToMove"`
	FailureReason    string `json:"FailureReason,omitempty"`
	StartedTimestamp int64  `json:"StartedTimestamp"`
}

// QueueURL is the URL of the queue named name.
func (a *API) QueueURL(name string) string {
	return strings.TrimSuffix(a.BaseURL, "/") + "/" + a.Account + "/" + name
}

// QueueARN is the ARN of the queue named name.
func (a *API) QueueARN(name string) string {
	return "arn:aws:sqs:" + a.Region + ":" + a.Account + ":" + name
}

type apiError struct {
	status int
	code   string // the __type after '#', e.g. QueueDoesNotExist
	query  string // x-amzn-query-error code, e.g. AWS.SimpleQueueService.NonExistentQueue
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, query: code, msg: msg}
}

// errorFor maps the broker's errors to SQS's error codes.
func errorFor(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrNoSuchQueue):
		return &apiError{status: http.StatusBadRequest, code: "QueueDoesNotExist", query: "AWS.SimpleQueueService.NonExistentQueue", msg: err.Error()}
	case errors.Is(err, ErrInvalidReceiptHandle):
		return badRequest("ReceiptHandleIsInvalid", err.Error())
	case errors.Is(err, ErrMessageTooLong):
		return badRequest("InvalidParameterValue", err.Error())
	case errors.Is(err, ErrInvalidParameterValue):
		return badRequest("InvalidParameterValue", err.Error())
	case errors.Is(err, ErrQueueFull):
		// SQS bounds in-flight messages with OverLimit; a full emulated queue says the same.
		return &apiError{status: http.StatusForbidden, code: "OverLimit", query: "OverLimit", msg: err.Error()}
	case errors.Is(err, ErrClosed):
		return &apiError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable", query: "ServiceUnavailable", msg: err.Error()}
	}
	return &apiError{status: http.StatusInternalServerError, code: "InternalError", query: "InternalError", msg: err.Error()}
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", e.query+";"+map[bool]string{true: "Sender", false: "Receiver"}[e.status < 500])
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
}

// ServeHTTP answers one SQS JSON call.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeAPIError(w, badRequest("InvalidAction", "SQS's JSON protocol takes POST"))
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok {
		writeAPIError(w, badRequest("InvalidAction", "X-Amz-Target must be AmazonSQS.<Operation>"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil || len(body) > maxAPIBody {
		writeAPIError(w, badRequest("InvalidParameterValue", fmt.Sprintf("request body over %d bytes", maxAPIBody)))
		return
	}
	var out any
	switch op {
	case "SendMessage":
		out, err = a.sendMessage(body)
	case "SendMessageBatch":
		out, err = a.sendMessageBatch(body)
	case "ReceiveMessage":
		out, err = a.receiveMessage(r, body)
	case "DeleteMessage":
		out, err = a.deleteMessage(body)
	case "DeleteMessageBatch":
		out, err = a.deleteMessageBatch(body)
	case "GetQueueUrl":
		out, err = a.getQueueURL(body)
	case "ListQueues":
		out, err = a.listQueues(body)
	case "GetQueueAttributes":
		out, err = a.getQueueAttributes(body)
	case "ListQueueTags":
		out, err = a.listQueueTags(body)
	case "ListDeadLetterSourceQueues":
		out, err = a.listDeadLetterSourceQueues(body)
	case "StartMessageMoveTask":
		out, err = a.startMessageMoveTask(body)
	case "ListMessageMoveTasks":
		out, err = a.listMessageMoveTasks(body)
	default:
		err = badRequest("InvalidAction", fmt.Sprintf("operation %q is not supported by devstack's SQS", op))
	}
	if err != nil {
		writeAPIError(w, errorFor(err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("InvalidParameterValue", "request body: "+err.Error())
	}
	return nil
}

// queueOf resolves a queue URL this API issued.
func (a *API) queueOf(url string) (*Queue, error) {
	prefix := strings.TrimSuffix(a.BaseURL, "/") + "/" + a.Account + "/"
	name, ok := strings.CutPrefix(url, prefix)
	if !ok || name == "" {
		// The SDK may send another host for the same path (a proxy, another name for
		// loopback): match on the path's last two segments.
		parts := strings.Split(strings.TrimSuffix(url, "/"), "/")
		if len(parts) < 2 || parts[len(parts)-2] != a.Account {
			return nil, badRequest("InvalidAddress", fmt.Sprintf("%q is not a queue URL of this endpoint", url))
		}
		name = parts[len(parts)-1]
	}
	return a.Broker.Queue(name)
}

func (a *API) queueOfARN(arn string) (*Queue, error) {
	name, ok := strings.CutPrefix(arn, "arn:aws:sqs:"+a.Region+":"+a.Account+":")
	if !ok {
		return nil, badRequest("InvalidParameterValue", fmt.Sprintf("%q is not a queue ARN of this endpoint", arn))
	}
	return a.Broker.Queue(name)
}

func (a *API) sendMessage(body []byte) (any, error) {
	var in struct {
		QueueUrl, MessageBody string
		DelaySeconds          int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.DelaySeconds != 0 {
		return nil, badRequest("InvalidParameterValue", "DelaySeconds is not supported by devstack's SQS")
	}
	q, err := a.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	id, err := q.Send(in.MessageBody)
	if err != nil {
		return nil, err
	}
	return map[string]string{"MessageId": id, "MD5OfMessageBody": md5Hex(in.MessageBody)}, nil
}

type batchResultError struct {
	Id, Code, Message string
	SenderFault       bool
}

func (a *API) sendMessageBatch(body []byte) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []struct{ Id, MessageBody string }
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Entries) == 0 {
		return nil, badRequest("EmptyBatchRequest", "no entries")
	}
	if len(in.Entries) > MaxReceiveBatch {
		return nil, badRequest("TooManyEntriesInBatchRequest", fmt.Sprintf("%d entries, at most %d", len(in.Entries), MaxReceiveBatch))
	}
	q, err := a.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	bodies := make([]string, len(in.Entries))
	seen := map[string]bool{}
	total := 0
	for i, e := range in.Entries {
		if seen[e.Id] || e.Id == "" {
			return nil, badRequest("BatchEntryIdsNotDistinct", fmt.Sprintf("entry id %q", e.Id))
		}
		seen[e.Id] = true
		bodies[i] = e.MessageBody
		total += len(e.MessageBody)
	}
	if total > MaxBodyBytes {
		return nil, badRequest("BatchRequestTooLong", fmt.Sprintf("%d bytes, at most %d", total, MaxBodyBytes))
	}
	ids, err := q.SendBatch(bodies)
	if err != nil {
		return nil, err
	}
	type ok struct{ Id, MessageId, MD5OfMessageBody string }
	out := struct {
		Successful []ok
		Failed     []batchResultError
	}{Failed: []batchResultError{}}
	for i, e := range in.Entries {
		out.Successful = append(out.Successful, ok{Id: e.Id, MessageId: ids[i], MD5OfMessageBody: md5Hex(e.MessageBody)})
	}
	return out, nil
}

func (a *API) receiveMessage(r *http.Request, body []byte) (any, error) {
	var in struct {
		QueueUrl            string
		MaxNumberOfMessages int
		WaitTimeSeconds     int
		VisibilityTimeout   *int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.MaxNumberOfMessages == 0 {
		in.MaxNumberOfMessages = 1
	}
	if in.WaitTimeSeconds < 0 || in.WaitTimeSeconds > 20 {
		return nil, badRequest("InvalidParameterValue", "WaitTimeSeconds must be 0..20")
	}
	q, err := a.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	var vis time.Duration
	if in.VisibilityTimeout != nil {
		if *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > int(MaxVisibilityTimeout/time.Second) {
			return nil, badRequest("InvalidParameterValue", "VisibilityTimeout must be 0..43200")
		}
		// 0 would mean "the queue's" to Receive; a tiny positive one is as good as none.
		vis = max(time.Duration(*in.VisibilityTimeout)*time.Second, time.Nanosecond)
	}
	var got []Received
	if in.WaitTimeSeconds > 0 {
		got, err = q.ReceiveWait(r.Context().Done(), in.MaxNumberOfMessages, vis, time.Duration(in.WaitTimeSeconds)*time.Second)
	} else {
		got, err = q.Receive(in.MaxNumberOfMessages, vis)
	}
	if err != nil {
		return nil, err
	}
	type msg struct {
		MessageId, ReceiptHandle, MD5OfBody, Body string
		Attributes                                map[string]string
	}
	out := struct{ Messages []msg }{Messages: []msg{}}
	for _, m := range got {
		attrs := map[string]string{
			"ApproximateReceiveCount": strconv.Itoa(m.ReceiveCount),
			"SentTimestamp":           strconv.FormatInt(m.SentAt.UnixMilli(), 10),
		}
		if !m.FirstReceivedAt.IsZero() {
			attrs["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(m.FirstReceivedAt.UnixMilli(), 10)
		}
		out.Messages = append(out.Messages, msg{MessageId: m.ID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5OfBody, Body: m.Body, Attributes: attrs})
	}
	return out, nil
}

func (a *API) deleteMessage(body []byte) (any, error) {
	var in struct{ QueueUrl, ReceiptHandle string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	q, err := a.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := q.Delete(in.ReceiptHandle); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (a *API) deleteMessageBatch(body []byte) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []struct{ Id, ReceiptHandle string }
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Entries) == 0 || len(in.Entries) > MaxReceiveBatch {
		return nil, badRequest("TooManyEntriesInBatchRequest", fmt.Sprintf("%d entries, want 1..%d", len(in.Entries), MaxReceiveBatch))
	}
	q, err := a.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	handles := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		handles[i] = e.ReceiptHandle
	}
	type ok struct{ Id string }
	out := struct {
		Successful []ok
		Failed     []batchResultError
	}{Successful: []ok{}, Failed: []batchResultError{}}
	for i, err := range q.DeleteBatch(handles) {
		if err != nil {
			e := errorFor(err)
			out.Failed = append(out.Failed, batchResultError{Id: in.Entries[i].Id, Code: e.code, Message: e.msg, SenderFault: e.status < 500})
			continue
		}
		out.Successful = append(out.Successful, ok{Id: in.Entries[i].Id})
	}
	return out, nil
}

func (a *API) getQueueURL(body []byte) (any, error) {
	var in struct{ QueueName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, err := a.Broker.Queue(in.QueueName); err != nil {
		return nil, err
	}
	return map[string]string{"QueueUrl": a.QueueURL(in.QueueName)}, nil
}

func (a *API) listQueues(body []byte) (any, error) {
	var in struct{ QueueNamePrefix string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	urls := []string{}
	for _, n := range a.Broker.Queues() {
		if strings.HasPrefix(n, in.QueueNamePrefix) {
			urls = append(urls, a.QueueURL(n))
		}
	}
	return map[string][]string{"QueueUrls": urls}, nil
}

func (a *API) getQueueAttributes(body []byte) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	q, err := a.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	c, n := q.Config(), q.Attributes()
	attrs := map[string]string{
		"QueueArn":                              a.QueueARN(c.Name),
		"ApproximateNumberOfMessages":           strconv.Itoa(n.Visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(n.NotVisible),
		"VisibilityTimeout":                     strconv.Itoa(int(c.VisibilityTimeout / time.Second)),
		"MessageRetentionPeriod":                strconv.Itoa(int(c.Retention / time.Second)),
		"MaximumMessageSize":                    strconv.Itoa(MaxBodyBytes),
		"SqsManagedSseEnabled":                  "true",
	}
	if c.DeadLetter != "" {
		policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": a.QueueARN(c.DeadLetter), "maxReceiveCount": c.MaxReceiveCount})
		attrs["RedrivePolicy"] = string(policy)
	}
	return map[string]map[string]string{"Attributes": attrs}, nil
}

func (a *API) listQueueTags(body []byte) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	q, err := a.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range q.Config().Tags {
		tags[k] = v
	}
	return map[string]map[string]string{"Tags": tags}, nil
}

// sourcesOf are the queues whose redrive policy names dlq, by name.
func (a *API) sourcesOf(dlq *Queue) []*Queue {
	var out []*Queue
	for _, n := range a.Broker.Queues() {
		if q, err := a.Broker.Queue(n); err == nil && q.Config().DeadLetter == dlq.Name() {
			out = append(out, q)
		}
	}
	return out
}

func (a *API) listDeadLetterSourceQueues(body []byte) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	dlq, err := a.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	urls := []string{}
	for _, q := range a.sourcesOf(dlq) {
		urls = append(urls, a.QueueURL(q.Name()))
	}
	return map[string][]string{"queueUrls": urls}, nil
}

// startMessageMoveTask moves every message of a dead-letter queue back to its source
// queue (or DestinationArn), at once: the emulator has no rate to honour, and the task
// is listed COMPLETED (or FAILED) when the call returns.
func (a *API) startMessageMoveTask(body []byte) (any, error) {
	var in struct{ SourceArn, DestinationArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	src, err := a.queueOfARN(in.SourceArn)
	if err != nil {
		return nil, err
	}
	var dest *Queue
	if in.DestinationArn != "" {
		if dest, err = a.queueOfARN(in.DestinationArn); err != nil {
			return nil, err
		}
	} else {
		// As SQS: without a destination, the source must be a dead-letter queue of
		// exactly one queue, which gets the messages.
		sources := a.sourcesOf(src)
		if len(sources) != 1 {
			return nil, badRequest("InvalidParameterValue", fmt.Sprintf("%s is the dead-letter queue of %d queues: give DestinationArn", src.Name(), len(sources)))
		}
		dest = sources[0]
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.tasks[in.SourceArn]; t != nil && t.Status == "RUNNING" {
		return nil, badRequest("UnsupportedOperation", "a message move task is already running for "+in.SourceArn)
	}
	t := &moveTask{Handle: newID(), Status: "RUNNING", SourceArn: in.SourceArn, DestinationArn: in.DestinationArn, StartedTimestamp: time.Now().UnixMilli()}
	t.ToMove = int64(len(src.Messages()))
	n, err := src.MoveMessages(dest)
	t.Moved = int64(n)
	t.Status = "COMPLETED"
	if err != nil {
		t.Status, t.FailureReason = "FAILED", err.Error()
	}
	if a.tasks == nil {
		a.tasks = map[string]*moveTask{}
	}
	a.tasks[in.SourceArn] = t
	return map[string]string{"TaskHandle": t.Handle}, nil
}

func (a *API) listMessageMoveTasks(body []byte) (any, error) {
	var in struct{ SourceArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, err := a.queueOfARN(in.SourceArn); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	results := []moveTask{}
	if t := a.tasks[in.SourceArn]; t != nil {
		results = append(results, *t)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].StartedTimestamp > results[j].StartedTimestamp })
	return map[string][]moveTask{"Results": results}, nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
