package infra

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Tracing of every function, set per deployment with CDK context values
// (cdk deploy -c traceSampleRatio=0.01 -c otelCollectorLayerArn=arn:…): the functions'
// OpenTelemetry SDK samples root traces at the ratio (parent-based, so a sampled
// caller's trace is kept whole; OTEL_TRACES_SAMPLER/_ARG), and with a collector layer
// (the ADOT collector Lambda layer for arm64 of the region, which forwards OTLP to
// X-Ray; X-Ray accepts W3C trace ids from ADOT 0.34 on) the spans are exported to it
// on localhost. Without a layer, spans are still made and their ids logged and
// propagated, and Lambda's own active tracing records each invocation in X-Ray.
const (
	ContextTraceSampleRatio = "traceSampleRatio"
	ContextCollectorLayer   = "otelCollectorLayerArn"
	// DefaultTraceSampleRatio samples one new trace in ten.
	DefaultTraceSampleRatio = "0.1"
	// CollectorEndpoint is where the ADOT collector extension receives OTLP/HTTP.
	CollectorEndpoint = "http://localhost:4318"
)

// Defaults of FunctionProps.
const (
	DefaultMemoryMB      = 256
	DefaultTimeout       = 10 * time.Second
	DefaultLogRetention  = awslogs.RetentionDays_ONE_MONTH
	errorsAlarmThreshold = 1
)

// FunctionProps configure a Go Lambda function built by make build.
type FunctionProps struct {
	// Service and Name locate the code: <AssetDir>/<Service>/<Name>.zip with a
	// bootstrap binary (linux/arm64).
	Service, Name string
	AssetDir      string
	Environment   map[string]string
	MemoryMB      int           // 0: DefaultMemoryMB
	Timeout       time.Duration // 0: DefaultTimeout
	// Role, when set, is used instead of a new role for this function (e.g. the one
	// write role of a service's commands); its log permissions are added here.
	Role awsiam.Role
}

// Function is a Go Lambda function (provided.al2023, arm64) with JSON logs in its own
// log group with a set retention, active X-Ray tracing, a least-privilege role and an
// alarm on its Errors metric.
type Function struct {
	constructs.Construct
	Function    awslambda.Function
	Role        awsiam.Role
	LogGroup    awslogs.LogGroup
	ErrorsAlarm awscloudwatch.Alarm
}

// NewFunction creates the function under scope.
func NewFunction(scope constructs.Construct, id string, props FunctionProps) *Function {
	c := constructs.NewConstruct(scope, jsii.String(id))
	memory, timeout := props.MemoryMB, props.Timeout
	if memory == 0 {
		memory = DefaultMemoryMB
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     DefaultLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := props.Role
	if role == nil {
		role = NewLambdaRole(c, "Role")
	}
	// Own log group instead of AWSLambdaBasicExecutionRole (a managed policy on every log group).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	env := map[string]*string{}
	for k, v := range props.Environment {
		env[k] = jsii.String(v)
	}
	layers := tracingEnvironment(scope, c, env)
	fn := awslambda.NewFunction(c, jsii.String("Function"), &awslambda.FunctionProps{
		Description:   jsii.String(props.Service + " " + props.Name),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(StackProps{AssetDir: props.AssetDir}.Asset(props.Service, props.Name)), nil),
		MemorySize:    jsii.Number(float64(memory)),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(timeout.Seconds())),
		Environment:   &env,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
		Layers:        layers,
		Role:          role,
	})
	SuppressTracingWildcard(role)
	SkipCheckov(logs, SkipLogGroupKMS)
	SkipCheckov(fn, SkipLambdaVPC, SkipLambdaConcurrency)
	if len(env) > 0 {
		SkipCheckov(fn, SkipLambdaEnvKMS)
	}
	// No function is invoked asynchronously: bus consumers read their subscription's
	// queue through an event source mapping (NewSubscriber), whose dead-letter queue
	// keeps what they fail on.
	SkipCheckov(fn, SkipLambdaDLQSync)
	alarm := fn.MetricErrors(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}).
		CreateAlarm(c, jsii.String("ErrorsAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(props.Service + " " + props.Name + ": invocation errors"),
			Threshold:          jsii.Number(errorsAlarmThreshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	return &Function{Construct: c, Function: fn, Role: role, LogGroup: logs, ErrorsAlarm: alarm}
}

// tracingEnvironment adds the OpenTelemetry variables to env and returns the
// collector layer, if the deployment names one.
func tracingEnvironment(scope, c constructs.Construct, env map[string]*string) *[]awslambda.ILayerVersion {
	ratio := DefaultTraceSampleRatio
	if v, ok := scope.Node().TryGetContext(jsii.String(ContextTraceSampleRatio)).(string); ok && v != "" {
		ratio = v
	}
	env["OTEL_TRACES_SAMPLER"] = jsii.String("parentbased_traceidratio")
	env["OTEL_TRACES_SAMPLER_ARG"] = jsii.String(ratio)
	arn, ok := scope.Node().TryGetContext(jsii.String(ContextCollectorLayer)).(string)
	if !ok || arn == "" {
		return nil
	}
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = jsii.String(CollectorEndpoint)
	return &[]awslambda.ILayerVersion{awslambda.LayerVersion_FromLayerVersionArn(c, jsii.String("Collector"), jsii.String(arn))}
}

// NewLambdaRole is a role Lambda can assume, without managed policies.
func NewLambdaRole(scope constructs.Construct, id string) awsiam.Role {
	role := awsiam.NewRole(scope, jsii.String(id), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	return role
}

// SuppressTracingWildcard accepts the X-Ray statement active tracing adds to role; call
// it once the function exists (the role's policy is created with that statement).
func SuppressTracingWildcard(role awsiam.IRole) {
	Suppress(role, Suppression{
		ID:     "AwsSolutions-IAM5",
		Reason: "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so active tracing needs Resource '*'",
		Only:   []string{"Resource::*"},
	})
}
