package infra

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Suppression is one accepted cdk-nag finding with the reason it is accepted.
type Suppression struct {
	ID     string   // rule, e.g. "AwsSolutions-IAM5"
	Reason string   // why the finding is acceptable here (cdk-nag requires >= 10 characters)
	Only   []string // optional: the findings (appliesTo) the suppression is limited to
	// OnlyMatching: findings matching these regular expressions (e.g. with a logical id).
	OnlyMatching []string
}

// Suppress records suppressions on c and its children.
func Suppress(c constructs.IConstruct, suppressions ...Suppression) {
	var list []*cdknag.NagPackSuppression
	for _, s := range suppressions {
		n := &cdknag.NagPackSuppression{Id: jsii.String(s.ID), Reason: jsii.String(s.Reason)}
		var only []interface{}
		for _, o := range s.Only {
			only = append(only, o)
		}
		for _, re := range s.OnlyMatching {
			only = append(only, &cdknag.RegexAppliesTo{Regex: jsii.String("/" + re + "/")})
		}
		if len(only) > 0 {
			n.AppliesTo = &only
		}
		list = append(list, n)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &list, jsii.Bool(true))
}
