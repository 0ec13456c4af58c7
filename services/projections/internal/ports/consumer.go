// Package ports adapts the use cases to Lambda: the EventBridge rule target, the
// HTTP API routes and the rebuild job, with the aws-lambda-go event types AWS sends.
package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
)

// ConcertEvents is the target of the projections-concert-events rule.
func ConcertEvents(project *app.ProjectConcertEvent, logger *slog.Logger) subscription.Target {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		if ev.Source != domain.Source {
			return fmt.Errorf("event %s: source %q, want %q: %w", ev.ID, ev.Source, domain.Source, domain.ErrInvalidEvent)
		}
		e, err := domain.ParseDetail(ev.DetailType, ev.Detail)
		if err != nil {
			// Retrying cannot help; failing sends it to the dead-letter queue, where
			// it is visible, instead of dropping it silently.
			logger.ErrorContext(ctx, "undecodable concert event", "eventBridgeId", ev.ID, "detailType", ev.DetailType, "error", err)
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
		if err := project.Handle(ctx, e); err != nil {
			level := slog.LevelWarn
			if errors.Is(err, domain.ErrInvalidEvent) {
				level = slog.LevelError
			}
			logger.Log(ctx, level, "concert event not applied; it will be redelivered", "concertId", e.Meta.AggregateID,
				"version", e.Meta.AggregateVersion, "eventType", e.Meta.EventType, "error", err)
			return err
		}
		return nil
	}
}
