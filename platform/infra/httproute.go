package infra

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/concertsys/platform/service"
)

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// HTTPRoute is a route of the shared HTTP API deployed by a service stack.
type HTTPRoute struct {
	constructs.Construct
	Route       awsapigatewayv2.CfnRoute
	Integration awsapigatewayv2.CfnIntegration
}

// NewHTTPRoute adds route to the shared HTTP API (id and authorizer from SSM) with a
// Lambda proxy integration (payload 2.0) to fn. Organizers routes use the JWT
// authorizer and require OrganizersScope; Public routes have no authorization.
func NewHTTPRoute(scope constructs.Construct, id string, shared *Shared, route service.HTTPRoute, fn awslambda.IFunction) (*HTTPRoute, error) {
	method, path, ok := strings.Cut(route.RouteKey, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("route %q of %s: want \"METHOD /path\"", route.RouteKey, route.Function)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	integration := awsapigatewayv2.NewCfnIntegration(c, jsii.String("Integration"), &awsapigatewayv2.CfnIntegrationProps{
		ApiId:                shared.HTTPAPIID(),
		IntegrationType:      jsii.String("AWS_PROXY"),
		IntegrationUri:       fn.FunctionArn(),
		PayloadFormatVersion: jsii.String("2.0"),
		TimeoutInMillis:      jsii.Number(29000),
	})
	props := &awsapigatewayv2.CfnRouteProps{
		ApiId:             shared.HTTPAPIID(),
		RouteKey:          jsii.String(route.RouteKey),
		Target:            jsii.String("integrations/" + *integration.Ref()),
		AuthorizationType: jsii.String("NONE"),
	}
	switch route.Access {
	case service.Organizers:
		props.AuthorizationType = jsii.String("JWT")
		props.AuthorizerId = shared.AuthorizerID()
		props.AuthorizationScopes = jsii.Strings(OrganizersScope)
	case service.Public:
	default:
		return nil, fmt.Errorf("route %q: unknown access %d", route.RouteKey, route.Access)
	}
	r := awsapigatewayv2.NewCfnRoute(c, jsii.String("Route"), props)
	if route.Access == service.Public {
		Suppress(r, Suppression{ID: "AwsSolutions-APIG4", Reason: "public read route by design (the REST API's reads need no token)"})
	}
	// Invocation only from this route: arn:...:execute-api:region:account:api/stage/METHOD/path.
	sourceArn := awscdk.Stack_Of(c).FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("execute-api"),
		Resource:     shared.HTTPAPIID(),
		ResourceName: jsii.String("*/" + method + pathParam.ReplaceAllString(path, "*")),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	fn.AddPermission(jsii.String("Route-"+id), &awslambda.Permission{
		Principal: awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
		Action:    jsii.String("lambda:InvokeFunction"),
		SourceArn: sourceArn,
	})
	return &HTTPRoute{Construct: c, Route: r, Integration: integration}, nil
}
