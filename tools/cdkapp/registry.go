package main

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	platforminfra "github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/service"
)

// registration is a service added with tools/newservice: its file in this package
// (service_<name>.go) registers its description and stack from an init function, so
// adding a service adds a file here and edits no list.
type registration struct {
	describe func() service.Service
	newStack func(app awscdk.App, props platforminfra.StackProps) (awscdk.Stack, error)
}

var registered []registration

func register(r registration) {
	registered = append(registered, r)
	sort.Slice(registered, func(i, j int) bool { return registered[i].describe().Name < registered[j].describe().Name })
}
