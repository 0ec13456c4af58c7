package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// PutEventsSid is the Sid of every PutEventsAs statement.
const PutEventsSid = "PutEventsAsOwnSource"

// PutEventsAs allows events:PutEvents on the bus busArn for events whose source is
// source only: a service publishes under its own name and cannot forge another's
// events (IAM evaluates events:source for every entry of a PutEvents call).
func PutEventsAs(busArn *string, source string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(PutEventsSid),
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  &[]*string{busArn},
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"events:source": []string{source}}},
	})
}
