// Command cdkapp is the AWS CDK app of concertsys: PlatformStack, ConcertsStack,
// ProjectionsStack and NotificationsStack, plus the stack of every service made with
// tools/newservice (registry.go), each deployable alone (cdk deploy <Stack>)
// because the stacks share names and ids through SSM parameters, never exports.
//
// The repository's cdk.json runs it ("go run ./tools/cdkapp"); it also runs on its
// own, without AWS credentials, to write the templates:
//
//	go run ./tools/cdkapp -out cdk.out
//
// The stage comes from -stage or the "stage" context value (cdk deploy -c stage=prod),
// default "dev"; the Lambda zips from -assets or the "assets" context value, default
// dist/ (make build writes them). The account and region are CDK_DEFAULT_ACCOUNT and
// CDK_DEFAULT_REGION when set (the CDK CLI sets them); synthesis needs neither.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	platforminfra "github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/service"

	"github.com/concertsys/services/concerts"
	concertsinfra "github.com/concertsys/services/concerts/infra"
	"github.com/concertsys/services/notifications"
	notificationsinfra "github.com/concertsys/services/notifications/infra"
	projections "github.com/concertsys/services/projections"
	projectionsinfra "github.com/concertsys/services/projections/infra"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cdkapp:", err)
		os.Exit(1)
	}
}

// config is what the flags and context give.
type config struct {
	out, assets, schemas, stage string
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("cdkapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.out, "out", "", "output directory of the cloud assembly (default: $CDK_OUTDIR, else cdk.out)")
	fs.StringVar(&cfg.assets, "assets", "", `directory of the Lambda zips <service>/<function>.zip (default: context "assets", else dist)`)
	fs.StringVar(&cfg.schemas, "schemas", "schemas", "directory of the event schemas <source>/*.json")
	fs.StringVar(&cfg.stage, "stage", "", `stage name (default: context "stage", else dev)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	props := &awscdk.AppProps{}
	if cfg.out != "" {
		props.Outdir = jsii.String(cfg.out)
	} else if os.Getenv("CDK_OUTDIR") == "" {
		props.Outdir = jsii.String("cdk.out")
	}
	app := awscdk.NewApp(props)
	if cfg.stage == "" {
		cfg.stage = contextString(app, "stage", platforminfra.DefaultStage)
	}
	if cfg.assets == "" {
		cfg.assets = contextString(app, "assets", "dist")
	}
	if err := build(app, cfg); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}

// build adds every stack to app, with the cdk-nag AwsSolutions checks (an unsuppressed
// finding fails cdk synth/deploy).
func build(app awscdk.App, cfg config) error {
	services := []service.Service{concerts.Describe(), projections.Describe(), notifications.Describe()}
	for _, r := range registered {
		services = append(services, r.describe())
	}
	if err := checkAssets(cfg.assets, services); err != nil {
		return err
	}
	schemas, err := platforminfra.LoadRegistrySchemas(cfg.schemas)
	if err != nil {
		return err
	}
	var env *awscdk.Environment
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" || region != "" {
		env = &awscdk.Environment{}
		if account != "" {
			env.Account = jsii.String(account)
		}
		if region != "" {
			env.Region = jsii.String(region)
		}
	}
	props := platforminfra.StackProps{StackProps: awscdk.StackProps{Env: env}, Stage: cfg.stage, AssetDir: cfg.assets}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	awscdk.Tags_Of(app).Add(jsii.String(platforminfra.TagStage), jsii.String(cfg.stage), nil)

	platform := platforminfra.NewPlatformStack(app, platforminfra.PlatformStackName, platforminfra.PlatformStackProps{StackProps: props, Schemas: schemas})
	platforminfra.TagService(platform.Stack, "platform")
	conc, err := concertsinfra.NewStack(app, platforminfra.ConcertsStackName, props)
	if err != nil {
		return err
	}
	platforminfra.TagService(conc.Stack, concerts.Name)
	proj, err := projectionsinfra.NewStack(app, platforminfra.ProjectionsStackName, props)
	if err != nil {
		return err
	}
	platforminfra.TagService(proj.Stack, projections.Name)
	notif, err := notificationsinfra.NewStack(app, platforminfra.NotificationsStackName, props)
	if err != nil {
		return err
	}
	platforminfra.TagService(notif.Stack, notifications.Name)
	for _, r := range registered {
		st, err := r.newStack(app, props)
		if err != nil {
			return err
		}
		platforminfra.TagService(st, r.describe().Name)
	}
	return nil
}

// checkAssets fails early, with the fix, when a Lambda zip is missing.
func checkAssets(dir string, services []service.Service) error {
	var missing []error
	for _, svc := range services {
		for _, fn := range svc.Functions() {
			path := filepath.Join(dir, svc.Name, fn+".zip")
			if _, err := os.Stat(path); err != nil {
				missing = append(missing, fmt.Errorf("lambda zip %s: %w", path, err))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w\n(run make build, or pass -assets / -c assets=DIR)", errors.Join(missing...))
	}
	return nil
}
