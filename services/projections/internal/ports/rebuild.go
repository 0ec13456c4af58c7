package ports

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/services/projections/internal/app"
)

// Rebuild is the rebuild-projections job: any JSON input (ignored, "{}" by
// convention); output: the replay it started and how far it got.
func Rebuild(rebuild *app.Rebuild, logger *slog.Logger) service.JobHandler {
	return func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		stats, err := rebuild.Handle(ctx)
		logger.InfoContext(ctx, "rebuild replay followed", "replay", stats.Replay, "state", stats.State,
			"reason", stats.Reason, "lastReplayed", stats.LastReplayed, "error", err)
		if err != nil {
			return nil, fmt.Errorf("rebuild projections: %w", err)
		}
		out, err := json.Marshal(stats)
		if err != nil {
			return nil, fmt.Errorf("encode rebuild stats: %w", err)
		}
		return out, nil
	}
}
