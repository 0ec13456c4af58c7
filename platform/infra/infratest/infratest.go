// Package infratest helps test CDK stacks without AWS: an app with the cdk-nag
// AwsSolutions checks, placeholder Lambda zips, and queries over synthesized templates
// as plain Go values (so failures are test failures with got/want, not jsii panics).
package infratest

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
)

// NewApp is a CDK app writing to a temporary directory, with the cdk-nag AwsSolutions
// pack applied to everything added to it.
func NewApp(t testing.TB) awscdk.App {
	t.Helper()
	QuietNode()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return app
}

// WriteAssets writes a tiny zip per function of each service under a temporary
// directory laid out like make build's dist/, and returns that directory. Templates do
// not depend on the zips' contents.
func WriteAssets(t testing.TB, services ...service.Service) string {
	t.Helper()
	dir := t.TempDir()
	for _, svc := range services {
		for _, fn := range svc.Functions() {
			path := filepath.Join(dir, svc.Name, fn+".zip")
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			f, err := os.Create(path)
			require.NoError(t, err)
			zw := zip.NewWriter(f)
			w, err := zw.Create("bootstrap")
			require.NoError(t, err)
			_, err = w.Write([]byte("placeholder for " + fn))
			require.NoError(t, err)
			require.NoError(t, zw.Close())
			require.NoError(t, f.Close())
		}
	}
	return dir
}

// Template is a synthesized stack.
type Template struct {
	JSON map[string]any
}

// Synth synthesizes stack's template.
func Synth(t testing.TB, stack awscdk.Stack) Template {
	t.Helper()
	raw := assertions.Template_FromStack(stack, nil).ToJSON()
	require.NotNil(t, raw)
	// Round-trip through JSON so values are plain Go types (float64, []any, map).
	b, err := json.Marshal(*raw)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return Template{JSON: m}
}

// Resource is a template resource.
type Resource struct {
	LogicalID  string
	Type       string
	Properties map[string]any
	Raw        map[string]any
}

// Resources returns the resources of type typ, in logical id order.
func (tpl Template) Resources(typ string) []Resource {
	res, _ := tpl.JSON["Resources"].(map[string]any)
	var out []Resource
	for id, r := range res {
		m, _ := r.(map[string]any)
		if m["Type"] != typ {
			continue
		}
		props, _ := m["Properties"].(map[string]any)
		out = append(out, Resource{LogicalID: id, Type: typ, Properties: props, Raw: m})
	}
	sortResources(out)
	return out
}

func sortResources(rs []Resource) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].LogicalID < rs[j-1].LogicalID; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// Resource returns the resource with logical id id.
func (tpl Template) Resource(id string) (Resource, bool) {
	res, _ := tpl.JSON["Resources"].(map[string]any)
	m, ok := res[id].(map[string]any)
	if !ok {
		return Resource{}, false
	}
	props, _ := m["Properties"].(map[string]any)
	typ, _ := m["Type"].(string)
	return Resource{LogicalID: id, Type: typ, Properties: props, Raw: m}, true
}

// Functions returns the template's Lambda functions by description, which the infra
// Function construct sets to "<service> <function>".
func (tpl Template) Functions() map[string]Resource {
	out := map[string]Resource{}
	for _, f := range tpl.Resources("AWS::Lambda::Function") {
		desc, _ := f.Properties["Description"].(string)
		out[desc] = f
	}
	return out
}

// Routes returns the properties of the template's API Gateway v2 routes by route key.
func (tpl Template) Routes() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range tpl.Resources("AWS::ApiGatewayV2::Route") {
		key, _ := r.Properties["RouteKey"].(string)
		out[key] = r.Properties
	}
	return out
}

// Actions lists the actions of an IAM policy statement, whether it holds one
// (a string) or several (a list).
func Actions(stmt any) []string {
	switch a := Get(stmt, "Action").(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// RoleOf is the logical id of the role of fn (a Lambda function).
func RoleOf(fn Resource) string {
	id, _ := Get(fn.Properties, "Role", "Fn::GetAtt", 0).(string)
	return id
}

// RoleStatements are the statements of every AWS::IAM::Policy attached to the role
// with logical id roleID.
func (tpl Template) RoleStatements(roleID string) []map[string]any {
	var out []map[string]any
	for _, p := range tpl.Resources("AWS::IAM::Policy") {
		roles, _ := p.Properties["Roles"].([]any)
		attached := false
		for _, r := range roles {
			attached = attached || Get(r, "Ref") == roleID
		}
		if !attached {
			continue
		}
		stmts, _ := Get(p.Properties, "PolicyDocument", "Statement").([]any)
		for _, st := range stmts {
			if m, ok := st.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// FunctionStatements are the statements of fn's role's policies.
func (tpl Template) FunctionStatements(fn Resource) []map[string]any {
	return tpl.RoleStatements(RoleOf(fn))
}

// WithAction keeps the Allow statements of stmts that grant action.
func WithAction(stmts []map[string]any, action string) []map[string]any {
	var out []map[string]any
	for _, st := range stmts {
		if st["Effect"] != "Allow" {
			continue
		}
		for _, a := range Actions(st) {
			if a == action {
				out = append(out, st)
				break
			}
		}
	}
	return out
}

// RequirePutEventsOnlyAs fails unless every PutEvents statement of stmts (there must be
// at least one) allows only source, with a StringEquals events:source condition.
func RequirePutEventsOnlyAs(t testing.TB, stmts []map[string]any, source string) {
	t.Helper()
	puts := WithAction(stmts, "events:PutEvents")
	require.NotEmpty(t, puts, "no PutEvents statement")
	for _, st := range puts {
		require.Equal(t, map[string]any{"StringEquals": map[string]any{"events:source": []any{source}}}, st["Condition"],
			"PutEvents must be conditioned on events:source %q: %v", source, st)
	}
}

// CheckovSkips are the check ids the resource's Metadata checkov.skip lists, each
// required to carry a comment.
func CheckovSkips(t testing.TB, r Resource) []string {
	t.Helper()
	skips, _ := Get(r.Raw, "Metadata", "checkov", "skip").([]any)
	var ids []string
	for _, s := range skips {
		id, _ := Get(s, "id").(string)
		comment, _ := Get(s, "comment").(string)
		require.NotEmpty(t, id, "checkov skip without id on %s", r.LogicalID)
		require.GreaterOrEqual(t, len(comment), 20, "checkov skip %s on %s needs its reason", id, r.LogicalID)
		ids = append(ids, id)
	}
	return ids
}

// RequireSubscriber fails unless the template holds sub as a Subscriber construct
// renders it: a rule with the subscription's name, pattern and retry policy whose
// target is an SSE-encrypted queue, fed only by that rule (aws:SourceArn), with a
// visibility timeout of at least infra.VisibilityTimeoutFactor times fn's timeout and
// a redrive policy to an alarmed dead-letter queue after infra.MaxReceiveCount
// receives (the rule's own dead-letter queue); and an event source mapping from that
// queue to fn with ReportBatchItemFailures.
func RequireSubscriber(t testing.TB, tpl Template, sub subscription.Subscription, fn Resource) {
	t.Helper()
	var rule Resource
	for _, r := range tpl.Resources("AWS::Events::Rule") {
		if r.Properties["Name"] == sub.Name {
			rule = r
		}
	}
	require.NotEmpty(t, rule.LogicalID, "no rule named %s", sub.Name)
	r := rule.Properties
	JSONEqual(t, sub.Pattern, r["EventPattern"], "rule %s pattern", sub.Name)
	targets, _ := r["Targets"].([]any)
	require.Len(t, targets, 1, "rule %s: got %d targets want its queue only", sub.Name, len(targets))
	retries, age := infra.RetryPolicy(sub)
	require.Equal(t, float64(retries), Get(r, "Targets", 0, "RetryPolicy", "MaximumRetryAttempts"), "rule %s retries", sub.Name)
	require.Equal(t, float64(age), Get(r, "Targets", 0, "RetryPolicy", "MaximumEventAgeInSeconds"), "rule %s event age", sub.Name)

	queueID, _ := Get(r, "Targets", 0, "Arn", "Fn::GetAtt", 0).(string)
	queue, ok := tpl.Resource(queueID)
	require.True(t, ok && queue.Type == "AWS::SQS::Queue", "rule %s: got target %v want an SQS queue of the stack", sub.Name, Get(r, "Targets", 0, "Arn"))
	q := queue.Properties
	require.Equal(t, true, q["SqsManagedSseEnabled"], "queue of %s: SSE", sub.Name)
	fnTimeout, _ := fn.Properties["Timeout"].(float64)
	require.Positive(t, fnTimeout, "function of %s has no timeout", sub.Name)
	vis, _ := q["VisibilityTimeout"].(float64)
	require.GreaterOrEqual(t, vis, infra.VisibilityTimeoutFactor*fnTimeout,
		"queue of %s: got visibility timeout %v s want >= %d x the function's %v s", sub.Name, vis, infra.VisibilityTimeoutFactor, fnTimeout)
	require.Equal(t, float64(infra.MaxReceiveCount(sub)), Get(q, "RedrivePolicy", "maxReceiveCount"), "queue of %s: maxReceiveCount", sub.Name)
	dlqID, _ := Get(q, "RedrivePolicy", "deadLetterTargetArn", "Fn::GetAtt", 0).(string)
	require.Equal(t, []any{dlqID, "Arn"}, Get(r, "Targets", 0, "DeadLetterConfig", "Arn", "Fn::GetAtt"),
		"rule %s: its dead letters go to the queue's dead-letter queue", sub.Name)
	RequireDeadLetterAlarm(t, tpl, dlqID)

	for _, id := range []string{queueID, dlqID} {
		RequireSendOnlyFromRule(t, tpl, id, rule.LogicalID)
	}

	var mappings []Resource
	for _, m := range tpl.Resources("AWS::Lambda::EventSourceMapping") {
		if Get(m.Properties, "EventSourceArn", "Fn::GetAtt", 0) == queueID {
			mappings = append(mappings, m)
		}
	}
	require.Len(t, mappings, 1, "queue of %s: got %d event source mappings want 1", sub.Name, len(mappings))
	m := mappings[0].Properties
	require.Equal(t, map[string]any{"Ref": fn.LogicalID}, m["FunctionName"], "mapping of %s: function", sub.Name)
	require.Equal(t, []any{"ReportBatchItemFailures"}, m["FunctionResponseTypes"], "mapping of %s", sub.Name)
}

// RequireDeadLetterAlarm fails unless an alarm fires on one visible message in the
// queue with logical id queueID.
func RequireDeadLetterAlarm(t testing.TB, tpl Template, queueID string) {
	t.Helper()
	for _, a := range tpl.Resources("AWS::CloudWatch::Alarm") {
		p := a.Properties
		if p["MetricName"] == "ApproximateNumberOfMessagesVisible" && Get(p, "Dimensions", 0, "Value", "Fn::GetAtt", 0) == queueID &&
			p["Threshold"] == float64(1) && p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" {
			return
		}
	}
	t.Fatalf("dead-letter queue %s: no alarm on ApproximateNumberOfMessagesVisible >= 1", queueID)
}

// RequireSendOnlyFromRule fails unless the policy of the queue with logical id queueID
// allows exactly one thing: events.amazonaws.com sending for the rule ruleID.
func RequireSendOnlyFromRule(t testing.TB, tpl Template, queueID, ruleID string) {
	t.Helper()
	var allows []any
	for _, p := range tpl.Resources("AWS::SQS::QueuePolicy") {
		if Get(p.Properties, "Queues", 0, "Ref") != queueID {
			continue
		}
		stmts, _ := Get(p.Properties, "PolicyDocument", "Statement").([]any)
		for _, st := range stmts {
			if Get(st, "Effect") == "Allow" {
				allows = append(allows, st)
			}
		}
	}
	require.Len(t, allows, 1, "queue %s: got allow statements %v want one", queueID, allows)
	st := allows[0]
	require.Equal(t, "sqs:SendMessage", Get(st, "Action"), "queue %s", queueID)
	require.Equal(t, "events.amazonaws.com", Get(st, "Principal", "Service"), "queue %s", queueID)
	require.Equal(t, []any{ruleID, "Arn"}, Get(st, "Condition", "ArnEquals", "aws:SourceArn", "Fn::GetAtt"), "queue %s: only its rule", queueID)
}

// RequireNothingDropsSilently fails if anything in the template can lose an event a
// bus rule matched: a rule targeting a Lambda function (asynchronous invocation, which
// drops after two retries) or any target without a dead-letter queue, a Lambda
// permission for EventBridge, a queue a function reads without a redrive policy, or a
// dead-letter queue without an alarm.
func RequireNothingDropsSilently(t testing.TB, tpl Template) {
	t.Helper()
	for _, r := range tpl.Resources("AWS::Events::Rule") {
		targets, _ := r.Properties["Targets"].([]any)
		for i := range targets {
			id, _ := Get(targets[i], "Arn", "Fn::GetAtt", 0).(string)
			target, ok := tpl.Resource(id)
			require.True(t, ok && target.Type == "AWS::SQS::Queue", "rule %s target %d: got %v want a queue", r.LogicalID, i, Get(targets[i], "Arn"))
			require.NotNil(t, Get(targets[i], "DeadLetterConfig", "Arn"), "rule %s target %d: no dead-letter queue", r.LogicalID, i)
		}
	}
	for _, p := range tpl.Resources("AWS::Lambda::Permission") {
		require.NotEqual(t, "events.amazonaws.com", p.Properties["Principal"], "%s: a rule invokes a function directly", p.LogicalID)
	}
	for _, m := range tpl.Resources("AWS::Lambda::EventSourceMapping") {
		id, _ := Get(m.Properties, "EventSourceArn", "Fn::GetAtt", 0).(string)
		q, ok := tpl.Resource(id)
		if !ok || q.Type != "AWS::SQS::Queue" {
			continue
		}
		dlq, _ := Get(q.Properties, "RedrivePolicy", "deadLetterTargetArn", "Fn::GetAtt", 0).(string)
		require.NotEmpty(t, dlq, "queue %s is consumed without a redrive policy", id)
		require.Equal(t, []any{"ReportBatchItemFailures"}, m.Properties["FunctionResponseTypes"], "mapping %s", m.LogicalID)
		RequireDeadLetterAlarm(t, tpl, dlq)
	}
}

// String is the template as JSON.
func (tpl Template) String() string {
	b, _ := json.Marshal(tpl.JSON)
	return string(b)
}

// RequireSelfContained fails if the template ties its deploy to another stack: any
// Fn::ImportValue, or an Output with an Export.
func RequireSelfContained(t testing.TB, tpl Template) {
	t.Helper()
	require.NotContains(t, tpl.String(), "Fn::ImportValue", "stack imports another stack's export")
	outputs, _ := tpl.JSON["Outputs"].(map[string]any)
	for name, o := range outputs {
		m, _ := o.(map[string]any)
		require.NotContains(t, m, "Export", "output %s exports a value", name)
	}
}

// NagErrors returns the cdk-nag (AwsSolutions) errors reported on stack.
func NagErrors(stack awscdk.Stack) []string {
	msgs := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"),
		assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	var out []string
	if msgs == nil {
		return nil
	}
	for _, m := range *msgs {
		b, _ := json.Marshal(m.Entry.Data)
		out = append(out, *m.Id+": "+strings.TrimSpace(string(b)))
	}
	return out
}

// RequireNoNagErrors fails with every unsuppressed cdk-nag finding on stack.
func RequireNoNagErrors(t testing.TB, stack awscdk.Stack) {
	t.Helper()
	require.Empty(t, NagErrors(stack), "cdk-nag AwsSolutions errors")
}

// JSONEqual fails unless got and want are the same JSON value.
func JSONEqual(t testing.TB, want []byte, got any, msgAndArgs ...any) {
	t.Helper()
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(b), msgAndArgs...)
}

// Get follows a path of map keys and slice indexes through v.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

// QuietNode silences jsii's banner about the machine's Node.js version (set before the
// first jsii call starts the Node.js child process).
func QuietNode() {
	if os.Getenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION") == "" {
		_ = os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	}
	// The machine's Node.js 20 still synthesizes correctly; jsii only warns.
	if os.Getenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") == "" {
		_ = os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
	}
}

// WithoutTracing is a function's environment variables without the OpenTelemetry ones
// every function gets from infra.NewFunction (OTEL_*), so a service's test can assert
// exactly its own.
func WithoutTracing(vars map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range vars {
		if !strings.HasPrefix(k, "OTEL_") {
			out[k] = v
		}
	}
	return out
}
