package infra

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CheckovSkip is one checkov check accepted on one resource, with the reason. It is
// written into the template as the resource's Metadata checkov.skip entry
// ({"id": ..., "comment": ...}), where checkov reads it: every exception is on its
// resource, none is global.
type CheckovSkip struct {
	ID      string
	Comment string
}

// The checkov findings this system accepts, each with the reason it does not apply.
var (
	// CKV_AWS_117: no function needs a network path other than to AWS APIs.
	SkipLambdaVPC = CheckovSkip{"CKV_AWS_117", "reaches only AWS APIs (DynamoDB, EventBridge, API Gateway, Secrets Manager) over TLS with IAM-signed requests; a VPC would add NAT or endpoints and protect nothing"}
	// CKV_AWS_115: load is bounded upstream, not by reserved concurrency.
	SkipLambdaConcurrency = CheckovSkip{"CKV_AWS_115", "load is bounded by the API stages' throttling and EventBridge's retry policy; reserved concurrency would carve the account's shared pool and cannot deploy on accounts with the default low limit"}
	// CKV_AWS_173: nothing secret in any function's environment.
	SkipLambdaEnvKMS = CheckovSkip{"CKV_AWS_173", "the environment holds only resource names, ARNs and URLs (secrets are read from Secrets Manager at init); Lambda encrypts it at rest with its AWS managed key"}
	// CKV_AWS_116: a DLQ applies to asynchronous invocations only.
	SkipLambdaDLQSync = CheckovSkip{"CKV_AWS_116", "invoked synchronously (API Gateway, Cognito trigger, pipe enrichment, an SQS event source mapping whose queue has its own dead-letter queue, or by hand with RequestResponse): a failure is returned to the caller, and a Lambda DLQ only receives failed asynchronous invocations"}
	// CKV_AWS_158: log groups keep CloudWatch Logs' default encryption.
	SkipLogGroupKMS = CheckovSkip{"CKV_AWS_158", "CloudWatch Logs encrypts every log group at rest by default; the logs hold no secrets, and a customer managed key would add a key policy to keep in step with every writer"}
	// CKV_AWS_27: checkov only recognizes KmsMasterKeyId.
	SkipSQSKMS = CheckovSkip{"CKV_AWS_27", "encrypted at rest with SSE-SQS (SqsManagedSseEnabled) and SSL-only; checkov only recognizes KmsMasterKeyId, and EventBridge cannot deliver dead letters to a queue under the AWS managed aws/sqs key"}
	// CKV_AWS_119: tables keep DynamoDB's default encryption.
	SkipDynamoDBCMK = CheckovSkip{"CKV_AWS_119", "encrypted at rest with DynamoDB's AWS owned key; access is controlled by IAM per function, and a customer managed key adds cost and a key policy without narrowing who can read"}
	// CKV_AWS_149: the secret keeps Secrets Manager's AWS managed key.
	SkipSecretCMK = CheckovSkip{"CKV_AWS_149", "encrypted with the AWS managed aws/secretsmanager key; only the list function's role may GetSecretValue on it, and a customer managed key would add a key policy without narrowing that"}
)

// SkipCheckov records skips on c's CloudFormation resource: c itself when it is one,
// else its default child. Skips add to those already recorded.
func SkipCheckov(c constructs.IConstruct, skips ...CheckovSkip) {
	res, ok := c.(awscdk.CfnResource)
	if !ok {
		if res, ok = c.Node().DefaultChild().(awscdk.CfnResource); !ok {
			panic(fmt.Sprintf("SkipCheckov: %s has no CloudFormation resource", *c.Node().Path()))
		}
	}
	var meta struct {
		Skip []map[string]string `json:"skip"`
	}
	if old := res.GetMetadata(jsii.String("checkov")); old != nil {
		b, err := json.Marshal(old)
		if err == nil {
			_ = json.Unmarshal(b, &meta)
		}
	}
	for _, s := range skips {
		meta.Skip = append(meta.Skip, map[string]string{"id": s.ID, "comment": s.Comment})
	}
	list := make([]any, len(meta.Skip))
	for i, s := range meta.Skip {
		list[i] = map[string]any{"id": s["id"], "comment": s["comment"]}
	}
	res.AddMetadata(jsii.String("checkov"), map[string]any{"skip": list})
}
