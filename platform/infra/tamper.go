package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awspipes"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// TamperFilter is the tamper pipe's filter: any change or removal of an item in an
// append-only log.
const TamperFilter = `{"eventName":["MODIFY","REMOVE"]}`

// TamperMetricNamespace and TamperMetricName name the metric the tamper alarm watches.
const (
	TamperMetricNamespace = "concertsys"
	TamperMetricName      = "EventLogTampered"
)

// TamperAlarm watches an append-only table's stream for MODIFY and REMOVE records:
// an EventBridge Pipe (no code) copies each such record to a log group, a metric
// filter counts them, and an alarm fires on the first one. IAM cannot stop a PutItem
// from replacing an item (it has no condition key on ConditionExpression), so this is
// the control that makes an overwritten or deleted event visible.
//
// With the pipe to the bus it makes two readers of the stream, DynamoDB's advised
// maximum per shard. It starts at TRIM_HORIZON, so a change made while it was being
// created is still seen.
type TamperAlarm struct {
	constructs.Construct
	Pipe    awspipes.CfnPipe
	Role    awsiam.Role
	Records awslogs.LogGroup
	Alarm   awscloudwatch.Alarm
	Metric  awslogs.MetricFilter
}

// NewTamperAlarm creates the pipe, its log group, metric filter and alarm for table,
// whose stream must exist; what names the table in the alarm's description.
func NewTamperAlarm(scope constructs.Construct, id string, table awsdynamodb.ITable, what string) *TamperAlarm {
	c := constructs.NewConstruct(scope, jsii.String(id))
	// The tampering records themselves: kept a year, they are the evidence.
	records := awslogs.NewLogGroup(c, jsii.String("Records"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	SkipCheckov(records, SkipLogGroupKMS)
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("pipes.amazonaws.com"), nil),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadTheStream"),
		Actions:   jsii.Strings("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"),
		Resources: &[]*string{table.TableStreamArn()},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ListStreams"),
		Actions:   jsii.Strings("dynamodb:ListStreams"),
		Resources: jsii.Strings("*"),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteTamperRecords"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*records.LogGroupArn()),
	}))
	pipe := awspipes.NewCfnPipe(c, jsii.String("Pipe"), &awspipes.CfnPipeProps{
		Description: jsii.String("MODIFY and REMOVE records of " + what + " (append-only) to the tamper log"),
		RoleArn:     role.RoleArn(),
		Source:      table.TableStreamArn(),
		SourceParameters: &awspipes.CfnPipe_PipeSourceParametersProperty{
			DynamoDbStreamParameters: &awspipes.CfnPipe_PipeSourceDynamoDBStreamParametersProperty{
				StartingPosition: jsii.String(StartingPositionTrimHorizon),
				BatchSize:        jsii.Number(10),
			},
			FilterCriteria: &awspipes.CfnPipe_FilterCriteriaProperty{
				Filters: &[]*awspipes.CfnPipe_FilterProperty{{Pattern: jsii.String(TamperFilter)}},
			},
		},
		Target: records.LogGroupArn(),
	})
	pipe.Node().AddDependency(role)
	Suppress(role, Suppression{
		ID:     "AwsSolutions-IAM5",
		Reason: "dynamodb:ListStreams has no resource-level permissions; the stream read actions are on the one stream ARN",
		Only:   []string{"Resource::*"},
	})
	metric := awslogs.NewMetricFilter(c, jsii.String("Count"), &awslogs.MetricFilterProps{
		LogGroup:        records,
		FilterPattern:   awslogs.FilterPattern_AllEvents(),
		MetricNamespace: jsii.String(TamperMetricNamespace),
		MetricName:      jsii.String(TamperMetricName),
		MetricValue:     jsii.String("1"),
		DefaultValue:    jsii.Number(0),
	})
	alarm := metric.Metric(&awscloudwatch.MetricOptions{
		Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Sum"),
	}).CreateAlarm(c, jsii.String("Alarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String(what + " was changed or an item removed: the log is append-only, so history was rewritten; see log group " + *records.LogGroupName()),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	return &TamperAlarm{Construct: c, Pipe: pipe, Role: role, Records: records, Alarm: alarm, Metric: metric}
}
