package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"

	platforminfra "github.com/concertsys/platform/infra"

	sales "github.com/concertsys/services/sales"
	salesinfra "github.com/concertsys/services/sales/infra"
)

// The sales service, added with tools/newservice.
func init() {
	register(registration{describe: sales.Describe, newStack: func(app awscdk.App, props platforminfra.StackProps) (awscdk.Stack, error) {
		s, err := salesinfra.NewStack(app, salesinfra.StackName, props)
		if err != nil {
			return nil, err
		}
		return s.Stack, nil
	}})
}
