package infra_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/jsii-runtime-go"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/infra/infratest"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/platform/testkit/schemavalidate"
)

func TestDraft04(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"drops 2020-12 keywords",
			`{"$id":"https://x/y.json","$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","examples":[{}],"$comment":"c"}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`},
		{"const becomes enum in nested properties",
			`{"properties":{"const":{"const":"x"},"a":{"type":"object","properties":{"b":{"const":1}}}}}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","properties":{"const":{"enum":["x"]},"a":{"type":"object","properties":{"b":{"enum":[1]}}}}}`},
		{"numeric exclusive bounds",
			`{"exclusiveMinimum":0,"exclusiveMaximum":10}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","minimum":0,"exclusiveMinimum":true,"maximum":10,"exclusiveMaximum":true}`},
		{"defs and refs",
			`{"$defs":{"a":{"const":1}},"items":{"$ref":"#/$defs/a"}}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","definitions":{"a":{"enum":[1]}},"items":{"$ref":"#/definitions/a"}}`},
		{"large integers stay exact",
			`{"maximum":100000000000000001}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","maximum":100000000000000001}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := infra.Draft04([]byte(tt.in))
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(got))
			if tt.name == "large integers stay exact" {
				require.Contains(t, string(got), "100000000000000001", "got %s", got)
			}
		})
	}
	for _, bad := range []string{`[]`, `{`, `"x"`} {
		_, err := infra.Draft04([]byte(bad))
		require.Error(t, err, "input %s", bad)
	}
}

// TestRegistrySchemasAreDraft04 compiles every converted schema with a draft-04
// compiler (no newer keyword sneaks through) and checks the original's examples still
// validate against it.
func TestRegistrySchemasAreDraft04(t *testing.T) {
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	schemas, err := infra.LoadRegistrySchemas(dir)
	require.NoError(t, err)
	require.NotEmpty(t, schemas)
	for _, s := range schemas {
		t.Run(s.Name, func(t *testing.T) {
			source, file, ok := strings.Cut(s.Name, "@")
			require.True(t, ok)
			require.NotContains(t, s.Content, "2020-12")
			require.NotContains(t, s.Content, `"const"`)
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(s.Content))
			require.NoError(t, err)
			c := jsonschema.NewCompiler()
			c.DefaultDraft(jsonschema.Draft4)
			require.NoError(t, c.AddResource("mem://"+s.Name, doc))
			compiled, err := c.Compile("mem://" + s.Name)
			require.NoError(t, err)

			raw, err := os.ReadFile(filepath.Join(dir, source, file+".json"))
			require.NoError(t, err)
			var orig struct {
				Examples []json.RawMessage `json:"examples"`
			}
			require.NoError(t, json.Unmarshal(raw, &orig))
			require.NotEmpty(t, orig.Examples, "schema %s has no examples to check", s.Name)
			for _, ex := range orig.Examples {
				v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(ex)))
				require.NoError(t, err)
				require.NoError(t, compiled.Validate(v))
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name        string
		sub         subscription.Subscription
		wantRetries int
		wantAge     int
	}{
		{"defaults", subscription.Subscription{}, subscription.DefaultMaxAttempts - 1, int(subscription.DefaultMaxEventAge / time.Second)},
		{"explicit", subscription.Subscription{MaxAttempts: 3, MaxEventAge: 10 * time.Minute}, 2, 600},
		{"one attempt means no retry", subscription.Subscription{MaxAttempts: 1}, 0, 3600},
		{"clamped", subscription.Subscription{MaxAttempts: 1000, MaxEventAge: 48 * time.Hour}, 185, 86400},
		{"age at least a minute", subscription.Subscription{MaxEventAge: time.Second}, 7, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retries, age := infra.RetryPolicy(tt.sub)
			require.Equal(t, tt.wantRetries, retries, "retries: got %d want %d", retries, tt.wantRetries)
			require.Equal(t, tt.wantAge, age, "age: got %d want %d", age, tt.wantAge)
		})
	}
}

func TestQueueSizing(t *testing.T) {
	tests := []struct {
		name        string
		sub         subscription.Subscription
		timeout     time.Duration
		wantReceive int
		wantVis     time.Duration
	}{
		{"defaults", subscription.Subscription{}, 0, subscription.DefaultMaxAttempts, 6 * infra.DefaultTimeout},
		{"explicit", subscription.Subscription{MaxAttempts: 3}, 30 * time.Second, 3, 3 * time.Minute},
		{"clamped to SQS's limits", subscription.Subscription{MaxAttempts: 5000}, 15 * time.Minute, 1000, 90 * time.Minute},
		{"at most 12 hours", subscription.Subscription{}, 3 * time.Hour, 8, 12 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := infra.MaxReceiveCount(tt.sub)
			require.Equal(t, tt.wantReceive, got, "maxReceiveCount: got %d want %d", got, tt.wantReceive)
			vis := infra.VisibilityTimeout(tt.timeout)
			require.Equal(t, tt.wantVis, vis, "visibility: got %v want %v", vis, tt.wantVis)
		})
	}
}

// testService exercises every construct a service stack uses.
var testService = service.Service{
	Name: "demo",
	HTTPRoutes: []service.HTTPRoute{
		{Function: "write", RouteKey: "POST /things/{id}/do", Access: service.Organizers},
		{Function: "read", RouteKey: "GET /things/{id}", Access: service.Public},
	},
	Consumers: []service.Consumer{{Function: "consume", Subscription: subscription.Subscription{
		Name:        "demo-things",
		Pattern:     json.RawMessage(`{"source":["concerts"],"detail":{"data":{"quantity":[{"numeric":[">",5]}]}},"detail-type":[{"prefix":"Concert"}]}`),
		MaxAttempts: 4, MaxEventAge: 30 * time.Minute,
	}}},
	Enrichers: []service.Enricher{{Function: "enrich"}},
}

// TestStacks synthesizes the platform stack and a stack using every construct once
// (one jsii start-up), then checks them in subtests.
func TestStacks(t *testing.T) {
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	schemas, err := infra.LoadRegistrySchemas(dir)
	require.NoError(t, err)

	app := infratest.NewApp(t)
	assets := infratest.WriteAssets(t, testService)
	props := infra.StackProps{Stage: "test", AssetDir: assets}
	platform := infra.NewPlatformStack(app, infra.PlatformStackName, infra.PlatformStackProps{StackProps: props, Schemas: schemas})
	demo := newDemoStack(t, app, props)

	pt := infratest.Synth(t, platform.Stack)
	dt := infratest.Synth(t, demo)

	t.Run("platform bus and archive", func(t *testing.T) {
		buses := pt.Resources("AWS::Events::EventBus")
		require.Len(t, buses, 1)
		require.Equal(t, "concertsys-test", buses[0].Properties["Name"])
		archives := pt.Resources("AWS::Events::Archive")
		require.Len(t, archives, 1)
		require.Equal(t, map[string]any{"Fn::GetAtt": []any{buses[0].LogicalID, "Arn"}}, archives[0].Properties["SourceArn"])
		require.Equal(t, "concertsys-test-archive", archives[0].Properties["ArchiveName"],
			"got archive %v, want <bus>-archive as devstack names it", archives[0].Properties["ArchiveName"])
	})
	t.Run("platform schema registry", func(t *testing.T) {
		require.Len(t, pt.Resources("AWS::EventSchemas::Registry"), 1)
		got := pt.Resources("AWS::EventSchemas::Schema")
		require.Len(t, got, len(schemas), "got %d schemas want one per file", len(got))
		byName := map[string]string{}
		for _, r := range got {
			require.Equal(t, "JSONSchemaDraft4", r.Properties["Type"])
			byName[r.Properties["SchemaName"].(string)] = r.Properties["Content"].(string)
		}
		for _, s := range schemas {
			require.JSONEq(t, s.Content, byName[s.Name], "schema %s", s.Name)
		}
	})
	t.Run("platform user pool", func(t *testing.T) {
		require.Len(t, pt.Resources("AWS::Cognito::UserPool"), 1)
		groups := pt.Resources("AWS::Cognito::UserPoolGroup")
		require.Len(t, groups, 1)
		require.Equal(t, infra.OrganizersGroup, groups[0].Properties["GroupName"])
		require.Len(t, pt.Resources("AWS::Cognito::UserPoolClient"), 1)
		pool := pt.Resources("AWS::Cognito::UserPool")[0]
		require.Equal(t, "V2_0", infratest.Get(pool.Properties, "LambdaConfig", "PreTokenGenerationConfig", "LambdaVersion"))
	})
	t.Run("platform http api and jwt authorizer", func(t *testing.T) {
		apis := pt.Resources("AWS::ApiGatewayV2::Api")
		require.Len(t, apis, 1)
		require.Equal(t, "HTTP", apis[0].Properties["ProtocolType"])
		auth := pt.Resources("AWS::ApiGatewayV2::Authorizer")
		require.Len(t, auth, 1)
		require.Equal(t, "JWT", auth[0].Properties["AuthorizerType"])
		require.NotNil(t, infratest.Get(auth[0].Properties, "JwtConfiguration", "Issuer"))
		stages := pt.Resources("AWS::ApiGatewayV2::Stage")
		require.Len(t, stages, 1)
		require.Equal(t, true, stages[0].Properties["AutoDeploy"])
		require.NotNil(t, stages[0].Properties["AccessLogSettings"])
	})
	t.Run("platform publishes ssm parameters", func(t *testing.T) {
		names := map[string]bool{}
		for _, r := range pt.Resources("AWS::SSM::Parameter") {
			names[r.Properties["Name"].(string)] = true
		}
		for _, key := range []string{infra.ParamBusName, infra.ParamBusArn, infra.ParamHTTPAPIID, infra.ParamAuthorizerID, infra.ParamUserPoolID, infra.ParamUserPoolClientID} {
			require.True(t, names[infra.ParameterName("test", key)], "parameter %s missing, got %v", key, names)
		}
	})
	t.Run("service stack", func(t *testing.T) {
		require.Equal(t, "demo service", dt.JSON["Description"])
		var reads []any
		for _, p := range infratest.Get(dt.JSON, "Parameters").(map[string]any) {
			reads = append(reads, infratest.Get(p, "Default"))
		}
		require.Contains(t, reads, infra.ParameterName("test", infra.ParamBusName), "shared names read in the stack's stage")
	})
	t.Run("function construct", func(t *testing.T) {
		fns := dt.Resources("AWS::Lambda::Function")
		require.Len(t, fns, len(testService.Functions()))
		for _, f := range fns {
			require.Equal(t, "provided.al2023", f.Properties["Runtime"])
			require.Equal(t, []any{"arm64"}, f.Properties["Architectures"])
			require.Equal(t, "bootstrap", f.Properties["Handler"])
			require.Equal(t, "Active", infratest.Get(f.Properties, "TracingConfig", "Mode"))
			require.Equal(t, "JSON", infratest.Get(f.Properties, "LoggingConfig", "LogFormat"))
			require.NotNil(t, infratest.Get(f.Properties, "LoggingConfig", "LogGroup"))
		}
		for _, lg := range dt.Resources("AWS::Logs::LogGroup") {
			want := float64(30)
			if lg.Raw["DeletionPolicy"] == "Retain" {
				want = 365 // the tamper records: evidence
			}
			require.Equal(t, want, lg.Properties["RetentionInDays"], lg.LogicalID)
		}
		require.NotContains(t, dt.String(), "AWSLambdaBasicExecutionRole")
		errorsAlarms := 0
		for _, a := range dt.Resources("AWS::CloudWatch::Alarm") {
			if a.Properties["MetricName"] == "Errors" {
				errorsAlarms++
			}
		}
		require.Equal(t, len(fns), errorsAlarms, "got %d Errors alarms want one per function", errorsAlarms)
	})
	t.Run("subscriber: rule to queue to function, dead letters alarmed", func(t *testing.T) {
		rules := dt.Resources("AWS::Events::Rule")
		require.Len(t, rules, 1)
		c := testService.Consumers[0]
		r := rules[0].Properties
		require.Equal(t, float64(3), infratest.Get(r, "Targets", 0, "RetryPolicy", "MaximumRetryAttempts"))
		require.Equal(t, float64(1800), infratest.Get(r, "Targets", 0, "RetryPolicy", "MaximumEventAgeInSeconds"))
		require.Contains(t, infratest.Get(r, "EventBusName", "Ref"), "SsmParameterValue", "bus name must come from SSM")
		var consumer infratest.Resource
		for _, f := range dt.Resources("AWS::Lambda::Function") {
			if f.Properties["Description"] == testService.Name+" "+c.Function {
				consumer = f
			}
		}
		infratest.RequireSubscriber(t, dt, c.Subscription, consumer)
		infratest.RequireNothingDropsSilently(t, dt)
	})
	t.Run("queues are encrypted, ssl-only; dead-letter queues alarmed", func(t *testing.T) {
		queues := dt.Resources("AWS::SQS::Queue")
		require.Len(t, queues, 3, "the subscription's queue and dead-letter queue, the pipe's dead-letter queue")
		for _, q := range queues {
			require.Equal(t, true, q.Properties["SqsManagedSseEnabled"])
		}
		policies := dt.Resources("AWS::SQS::QueuePolicy")
		require.Len(t, policies, len(queues))
		for _, p := range policies {
			require.Contains(t, infratest.Template{JSON: p.Properties}.String(), `"aws:SecureTransport":"false"`)
		}
		dlqAlarms := 0
		for _, a := range dt.Resources("AWS::CloudWatch::Alarm") {
			if a.Properties["MetricName"] == "ApproximateNumberOfMessagesVisible" {
				dlqAlarms++
			}
		}
		require.Equal(t, len(queues)-1, dlqAlarms, "got %d alarms want one per dead-letter queue", dlqAlarms)
	})
	t.Run("event log pipe", func(t *testing.T) {
		var pipes []infratest.Resource
		for _, p := range dt.Resources("AWS::Pipes::Pipe") {
			if p.Properties["Enrichment"] != nil { // not the tamper pipe
				pipes = append(pipes, p)
			}
		}
		require.Len(t, pipes, 1)
		p := pipes[0].Properties
		require.Equal(t, "StreamArn", infratest.Get(p, "Source", "Fn::GetAtt", 1))
		src := infratest.Get(p, "SourceParameters", "DynamoDBStreamParameters")
		require.Equal(t, "TRIM_HORIZON", infratest.Get(src, "StartingPosition"))
		require.LessOrEqual(t, infratest.Get(src, "BatchSize").(float64), float64(10))
		require.NotNil(t, infratest.Get(src, "DeadLetterConfig", "Arn"))
		require.Equal(t, float64(service.PipeMaxRetryAttempts), infratest.Get(src, "MaximumRetryAttempts"), "devstack's pipe retries as often")
		require.JSONEq(t, infra.InsertOnlyFilter, infratest.Get(p, "SourceParameters", "FilterCriteria", "Filters", 0, "Pattern").(string))
		require.Equal(t, "Arn", infratest.Get(p, "Enrichment", "Fn::GetAtt", 1))
		require.Contains(t, infratest.Get(p, "Target", "Ref"), "SsmParameterValue")
		bp := infratest.Get(p, "TargetParameters", "EventBridgeEventBusParameters")
		require.Equal(t, "$.metadata.eventType", infratest.Get(bp, "DetailType"))
		require.Equal(t, "demo", infratest.Get(bp, "Source"))
	})
	t.Run("http routes", func(t *testing.T) {
		require.Len(t, dt.Resources("AWS::ApiGatewayV2::Route"), 2)
		byKey := dt.Routes()
		for _, r := range byKey {
			require.Contains(t, infratest.Get(r, "ApiId", "Ref"), "SsmParameterValue")
		}
		w := byKey["POST /things/{id}/do"]
		require.Equal(t, "JWT", w["AuthorizationType"])
		require.Equal(t, []any{infra.OrganizersScope}, w["AuthorizationScopes"])
		require.Contains(t, infratest.Get(w, "AuthorizerId", "Ref"), "SsmParameterValue")
		require.Equal(t, "NONE", byKey["GET /things/{id}"]["AuthorizationType"])
		for _, i := range dt.Resources("AWS::ApiGatewayV2::Integration") {
			require.Equal(t, "AWS_PROXY", i.Properties["IntegrationType"])
			require.Equal(t, "2.0", i.Properties["PayloadFormatVersion"])
		}
	})
	t.Run("pipe puts events only as its source", func(t *testing.T) {
		var pipeRole string
		for _, p := range dt.Resources("AWS::Pipes::Pipe") {
			if p.Properties["Enrichment"] != nil {
				pipeRole = infratest.Get(p.Properties, "RoleArn", "Fn::GetAtt", 0).(string)
			}
		}
		require.NotEmpty(t, pipeRole)
		infratest.RequirePutEventsOnlyAs(t, dt.RoleStatements(pipeRole), testService.Name)
	})
	t.Run("tamper alarm: MODIFY and REMOVE records to a counted, alarmed log group", func(t *testing.T) {
		var tamper infratest.Resource
		for _, p := range dt.Resources("AWS::Pipes::Pipe") {
			if infratest.Get(p.Properties, "SourceParameters", "FilterCriteria", "Filters", 0, "Pattern") == infra.TamperFilter {
				tamper = p
			}
		}
		require.NotEmpty(t, tamper.LogicalID)
		group := infratest.Get(tamper.Properties, "Target", "Fn::GetAtt", 0)
		filters := dt.Resources("AWS::Logs::MetricFilter")
		require.Len(t, filters, 1)
		require.Equal(t, map[string]any{"Ref": group}, filters[0].Properties["LogGroupName"])
		var alarms int
		for _, a := range dt.Resources("AWS::CloudWatch::Alarm") {
			if a.Properties["MetricName"] == infra.TamperMetricName {
				alarms++
			}
		}
		require.Equal(t, 1, alarms)
	})
	t.Run("no function is invoked asynchronously: every one has a written-down checkov skip for a Lambda DLQ", func(t *testing.T) {
		for _, f := range dt.Resources("AWS::Lambda::Function") {
			skips := infratest.CheckovSkips(t, f)
			require.Subset(t, skips, []string{"CKV_AWS_117", "CKV_AWS_115", "CKV_AWS_173", "CKV_AWS_116"}, f.LogicalID)
			require.Nil(t, f.Properties["DeadLetterConfig"], f.LogicalID)
		}
		for _, q := range dt.Resources("AWS::SQS::Queue") {
			require.Equal(t, true, q.Properties["SqsManagedSseEnabled"], "%s: the CKV_AWS_27 skip holds only while SSE-SQS is on", q.LogicalID)
			require.Equal(t, []string{"CKV_AWS_27"}, infratest.CheckovSkips(t, q))
		}
		for _, g := range append(dt.Resources("AWS::Logs::LogGroup"), pt.Resources("AWS::Logs::LogGroup")...) {
			require.Equal(t, []string{"CKV_AWS_158"}, infratest.CheckovSkips(t, g), g.LogicalID)
		}
	})
	t.Run("no cross-stack exports", func(t *testing.T) {
		infratest.RequireSelfContained(t, pt)
		infratest.RequireSelfContained(t, dt)
	})
	t.Run("cdk-nag AwsSolutions", func(t *testing.T) {
		infratest.RequireNoNagErrors(t, platform.Stack)
		infratest.RequireNoNagErrors(t, demo)
	})
}

func newDemoStack(t *testing.T, app awscdk.App, props infra.StackProps) awscdk.Stack {
	stack, shared := infra.NewServiceStack(app, "DemoStack", props, "demo service")
	fns := map[string]*infra.Function{}
	for _, name := range testService.Functions() {
		fns[name] = infra.NewFunction(stack, "Fn-"+name, infra.FunctionProps{
			Service: testService.Name, Name: name, AssetDir: props.AssetDir,
			Environment: map[string]string{"ONLY_FOR": name},
		})
	}
	for i, r := range testService.HTTPRoutes {
		_, err := infra.NewHTTPRoute(stack, "Route"+string(rune('A'+i)), shared, r, fns[r.Function].Function)
		require.NoError(t, err)
	}
	c := testService.Consumers[0]
	_, err := infra.NewSubscriber(stack, "Sub", infra.SubscriberProps{Subscription: c.Subscription, BusName: shared.BusName(), Function: fns[c.Function].Function})
	require.NoError(t, err)
	table := awsdynamodb.NewTable(stack, jsii.String("Log"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Stream:                           awsdynamodb.StreamViewType_NEW_IMAGE,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
	})
	_, err = infra.NewEventLogPipe(stack, "Pipe", infra.EventLogPipeProps{
		Table: table, Enricher: fns["enrich"].Function, BusArn: shared.BusArn(), Source: testService.Name,
		StartingPosition: infra.StartingPositionTrimHorizon,
	})
	require.NoError(t, err)
	infra.NewTamperAlarm(stack, "Tamper", table, "demo log")
	infra.SkipCheckov(table, infra.SkipDynamoDBCMK)
	_, err = infra.NewEventLogPipe(stack, "BadPipe", infra.EventLogPipeProps{Table: table, Enricher: fns["enrich"].Function, BusArn: shared.BusArn(), Source: "x", BatchSize: 11})
	require.Error(t, err)
	_, err = infra.NewSubscriber(stack, "BadSub", infra.SubscriberProps{Subscription: subscription.Subscription{Name: "x", Pattern: json.RawMessage(`[`)}, BusName: shared.BusName(), Function: fns["consume"].Function})
	require.Error(t, err)
	return stack
}
