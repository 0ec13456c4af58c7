// Package infra holds the AWS CDK constructs the services share: the platform stack
// (event bus with archive, schema registry, Cognito user pool, shared HTTP API with
// its JWT authorizer), the Lambda function, bus subscriber and event-log pipe
// constructs, and the SSM parameter names that tie the stacks together.
//
// Stacks never reference each other through CloudFormation exports: the platform stack
// (and the concerts stack, for its event log) publish names and ids as SSM parameters,
// and the service stacks read them as SSM parameter-typed stack parameters, so each
// stack deploys on its own once the platform exists.
package infra

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/concertsys/platform/service"
)

// Stack names the CDK app uses (cdk deploy <name>).
const (
	PlatformStackName      = "PlatformStack"
	ConcertsStackName      = "ConcertsStack"
	ProjectionsStackName   = "ProjectionsStack"
	NotificationsStackName = "NotificationsStack"
)

// DefaultStage is the stage when the app gets no "stage" context value.
const DefaultStage = "dev"

// Keys of the shared SSM parameters, under /concertsys/<stage>/.
const (
	ParamBusName          = "bus-name"
	ParamBusArn           = "bus-arn"
	ParamHTTPAPIID        = "http-api-id"
	ParamHTTPAPIEndpoint  = "http-api-endpoint"
	ParamAuthorizerID     = "authorizer-id"
	ParamUserPoolID       = "user-pool-id"
	ParamUserPoolClientID = "user-pool-client-id"
	ParamSchemaRegistry   = "schema-registry-name"
	// Published by the concerts stack: the event log the projections read for gap
	// fill and rebuild.
	ParamEventLogTableName = "concerts/event-log-table-name"
	ParamEventLogTableArn  = "concerts/event-log-table-arn"
	// Published by the notifications stack.
	ParamWebSocketURL = "notifications/websocket-url"
)

// OrganizersGroup is the Cognito group whose members may call the write routes.
const OrganizersGroup = service.OrganizersGroup

// OrganizersScope is the OAuth scope the user pool's pre-token-generation trigger adds
// to the access token of a member of OrganizersGroup; Organizers routes require it
// (the HTTP API JWT authorizer checks scopes, not groups).
const OrganizersScope = "concertsys/organizers"

// ParameterName is the SSM parameter name of key in stage.
func ParameterName(stage, key string) string {
	return fmt.Sprintf("/concertsys/%s/%s", stage, key)
}

// StackProps are what every stack of the app takes.
type StackProps struct {
	awscdk.StackProps
	// Stage names the deployment (dev, prod...): SSM paths and resource names.
	Stage string
	// AssetDir holds the Lambda zips as <AssetDir>/<service>/<function>.zip (make build).
	AssetDir string
}

// StageOrDefault returns p.Stage, or DefaultStage when empty.
func (p StackProps) StageOrDefault() string {
	if p.Stage == "" {
		return DefaultStage
	}
	return p.Stage
}

// Asset is the path of the zip of function of service.
func (p StackProps) Asset(service, function string) string {
	return filepath.Join(p.AssetDir, service, function+".zip")
}

// NewServiceStack creates a service's stack: props.StackProps, with description when
// they have none, and the platform's shared names imported into it (the stage is
// shared.Stage).
func NewServiceStack(scope constructs.Construct, id string, props StackProps, description string) (awscdk.Stack, *Shared) {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String(description)
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	return stack, ImportShared(stack, props.StageOrDefault())
}

// Shared are the platform's names and ids as a service stack sees them: tokens that
// resolve, at deploy time, from the SSM parameters the platform stack published. Each
// is read on first use only, so a stack has no unused parameters.
type Shared struct {
	scope constructs.Construct
	Stage string
}

// ImportShared reads the platform's SSM parameters into scope's stack (as
// AWS::SSM::Parameter::Value<String> stack parameters, never Fn::ImportValue).
func ImportShared(scope constructs.Construct, stage string) *Shared {
	return &Shared{scope: scope, Stage: stage}
}

// BusName is the shared bus's name.
func (s *Shared) BusName() *string { return FromParameter(s.scope, s.Stage, ParamBusName) }

// BusArn is the shared bus's ARN.
func (s *Shared) BusArn() *string { return FromParameter(s.scope, s.Stage, ParamBusArn) }

// HTTPAPIID is the shared HTTP API's id.
func (s *Shared) HTTPAPIID() *string { return FromParameter(s.scope, s.Stage, ParamHTTPAPIID) }

// AuthorizerID is the id of the shared HTTP API's JWT authorizer.
func (s *Shared) AuthorizerID() *string { return FromParameter(s.scope, s.Stage, ParamAuthorizerID) }

// FromParameter is the value of the SSM parameter key of stage, resolved at deploy.
func FromParameter(scope constructs.Construct, stage, key string) *string {
	return awsssm.StringParameter_ValueForStringParameter(scope, jsii.String(ParameterName(stage, key)), nil)
}

// Publish writes value to the SSM parameter key of stage.
func Publish(scope constructs.Construct, stage, key string, value *string) awsssm.StringParameter {
	return awsssm.NewStringParameter(scope, jsii.String("Param-"+strings.ReplaceAll(key, "/", "-")), &awsssm.StringParameterProps{
		ParameterName: jsii.String(ParameterName(stage, key)),
		StringValue:   value,
		Description:   jsii.String("concertsys " + stage + ": " + key),
	})
}
