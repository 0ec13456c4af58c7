// Package ebreplay replays the bus archive to the projection's own rule with
// EventBridge's StartReplay and DescribeReplay (AWS SDK for Go v2).
package ebreplay

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/concertsys/services/projections/internal/app"
)

var _ app.Replayer = (*Replayer)(nil)

// Target is what a replay reads and where it goes.
type Target struct {
	ArchiveARN  string // the bus's archive (EventSourceArn)
	EventBusARN string // the bus the archive belongs to (Destination.Arn)
	RuleARN     string // the projection's rule, the replay's only destination (Destination.FilterArns)
}

// Replayer starts and describes replays of one archive to one rule.
type Replayer struct {
	client *eventbridge.Client
	target Target
}

// New replays target through client.
func New(client *eventbridge.Client, target Target) *Replayer {
	return &Replayer{client: client, target: target}
}

// StartReplay replays the events archived in [from, to) to the rule only.
func (r *Replayer) StartReplay(ctx context.Context, name string, from, to time.Time) error {
	_, err := r.client.StartReplay(ctx, &eventbridge.StartReplayInput{
		ReplayName:     aws.String(name),
		EventSourceArn: aws.String(r.target.ArchiveARN),
		EventStartTime: aws.Time(from),
		EventEndTime:   aws.Time(to),
		Destination:    &types.ReplayDestination{Arn: aws.String(r.target.EventBusARN), FilterArns: []string{r.target.RuleARN}},
		Description:    aws.String("rebuild of the projections read model"),
	})
	if err != nil {
		return fmt.Errorf("start replay %s of %s: %w", name, r.target.ArchiveARN, err)
	}
	return nil
}

// DescribeReplay returns the replay's state.
func (r *Replayer) DescribeReplay(ctx context.Context, name string) (app.ReplayStatus, error) {
	out, err := r.client.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String(name)})
	if err != nil {
		return app.ReplayStatus{}, fmt.Errorf("describe replay %s: %w", name, err)
	}
	return app.ReplayStatus{
		State:        string(out.State),
		Reason:       aws.ToString(out.StateReason),
		LastReplayed: aws.ToTime(out.EventLastReplayedTime),
	}, nil
}
