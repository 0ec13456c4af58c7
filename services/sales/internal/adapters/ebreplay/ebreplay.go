// Package ebreplay is the catch-up's replayer on the EventBridge API (AWS, or
// devstack's /_aws/events): StartReplay and DescribeReplay, the only two calls the
// catch-up role may make.
package ebreplay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/concertsys/services/sales/internal/app"
)

// Replayer is app.Replayer on an EventBridge client.
type Replayer struct{ client *eventbridge.Client }

var _ app.Replayer = (*Replayer)(nil)

// New is the replayer on client.
func New(client *eventbridge.Client) *Replayer { return &Replayer{client: client} }

// StartReplay starts the replay; one that exists already (a retried call) is fine.
func (r *Replayer) StartReplay(ctx context.Context, name, archiveARN, busARN, ruleARN string, from, to time.Time) error {
	_, err := r.client.StartReplay(ctx, &eventbridge.StartReplayInput{
		ReplayName:     aws.String(name),
		Description:    aws.String("catch-up of a service deployed after the fact"),
		EventSourceArn: aws.String(archiveARN),
		EventStartTime: aws.Time(from),
		EventEndTime:   aws.Time(to),
		Destination:    &types.ReplayDestination{Arn: aws.String(busARN), FilterArns: []string{ruleARN}},
	})
	var exists *types.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("StartReplay: %w", err)
	}
	return nil
}

// ReplayState is DescribeReplay's state and reason; app.ErrReplayNotFound when the
// bus does not know the replay.
func (r *Replayer) ReplayState(ctx context.Context, name string) (string, string, error) {
	out, err := r.client.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String(name)})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return "", "", fmt.Errorf("DescribeReplay %s: %w", name, app.ErrReplayNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("DescribeReplay: %w", err)
	}
	return string(out.State), aws.ToString(out.StateReason), nil
}
