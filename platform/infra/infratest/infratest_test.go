package infratest_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/infra/infratest"
)

// recorder is a testing.TB that records a failure instead of failing the test, so
// the helpers' own failures can be asserted.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Errorf(format string, a ...any) { r.failed, r.msg = true, fmt.Sprintf(format, a...) }
func (r *recorder) Fatalf(format string, a ...any) { r.Errorf(format, a...); runtime.Goexit() }
func (r *recorder) FailNow()                       { r.failed = true; runtime.Goexit() }
func (r *recorder) Name() string                   { return "recorder" }

// fails runs check with a recorder and reports whether it failed.
func fails(check func(t testing.TB)) (bool, string) {
	r := &recorder{}
	done := make(chan struct{})
	go func() { defer close(done); check(r) }()
	<-done
	return r.failed, r.msg
}

// A template as NewSubscriber renders one, trimmed to what the check reads.
const durable = `{"Resources":{
 "Rule":{"Type":"AWS::Events::Rule","Properties":{"Targets":[{"Arn":{"Fn::GetAtt":["Queue","Arn"]},"DeadLetterConfig":{"Arn":{"Fn::GetAtt":["DLQ","Arn"]}}}]}},
 "Queue":{"Type":"AWS::SQS::Queue","Properties":{"RedrivePolicy":{"deadLetterTargetArn":{"Fn::GetAtt":["DLQ","Arn"]},"maxReceiveCount":8}}},
 "DLQ":{"Type":"AWS::SQS::Queue","Properties":{}},
 "Alarm":{"Type":"AWS::CloudWatch::Alarm","Properties":{"MetricName":"ApproximateNumberOfMessagesVisible","Threshold":1,"ComparisonOperator":"GreaterThanOrEqualToThreshold","Dimensions":[{"Name":"QueueName","Value":{"Fn::GetAtt":["DLQ","QueueName"]}}]}},
 "Fn":{"Type":"AWS::Lambda::Function","Properties":{}},
 "Mapping":{"Type":"AWS::Lambda::EventSourceMapping","Properties":{"EventSourceArn":{"Fn::GetAtt":["Queue","Arn"]},"FunctionName":{"Ref":"Fn"},"FunctionResponseTypes":["ReportBatchItemFailures"]}}
}}`

func TestRequireNothingDropsSilently(t *testing.T) {
	tests := []struct {
		name   string
		change func(res map[string]any)
		want   bool // fails
	}{
		{"rule to queue to function, alarmed dead-letter queue", func(map[string]any) {}, false},
		{"rule targets the function", func(res map[string]any) {
			infratest.Get(res, "Rule", "Properties", "Targets", 0).(map[string]any)["Arn"] = map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}
		}, true},
		{"rule target without a dead-letter queue", func(res map[string]any) {
			delete(infratest.Get(res, "Rule", "Properties", "Targets", 0).(map[string]any), "DeadLetterConfig")
		}, true},
		{"EventBridge may invoke a function", func(res map[string]any) {
			res["Perm"] = map[string]any{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{"Principal": "events.amazonaws.com"}}
		}, true},
		{"consumed queue without a redrive policy", func(res map[string]any) {
			delete(infratest.Get(res, "Queue", "Properties").(map[string]any), "RedrivePolicy")
		}, true},
		{"mapping without ReportBatchItemFailures", func(res map[string]any) {
			delete(infratest.Get(res, "Mapping", "Properties").(map[string]any), "FunctionResponseTypes")
		}, true},
		{"dead-letter queue without its alarm", func(res map[string]any) { delete(res, "Alarm") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tpl map[string]any
			require.NoError(t, json.Unmarshal([]byte(durable), &tpl))
			tt.change(tpl["Resources"].(map[string]any))
			failed, msg := fails(func(r testing.TB) { infratest.RequireNothingDropsSilently(r, infratest.Template{JSON: tpl}) })
			require.Equal(t, tt.want, failed, "got failed=%v (%s) want %v", failed, msg, tt.want)
		})
	}
}
