package stack

import (
	"context"
	"fmt"
	"path/filepath"

	sales "github.com/concertsys/services/sales"
	salesembedded "github.com/concertsys/services/sales/embedded"
	"github.com/concertsys/tools/local/localiam"
)

// The sales service, added with tools/newservice: its embedded store in the data
// directory, its own keys, which may only replay the archive to its rule (as its
// catch-up role on AWS), and its catch-up job, run once the stack serves: with an
// empty store it replays the archive, then the rule delivers live events.
func init() {
	localiam.RegisterReplayer(sales.Name, fmt.Sprintf("arn:aws:events:%s:%s:archive/%s", Region, Account, ArchiveName), sales.Name+"-catch-up-")
	register(registration{name: sales.Name, build: buildSales})
}

func buildSales(ctx context.Context, env environment) (built, error) {
	st, err := salesembedded.OpenStore(filepath.Join(env.dataDir, "sales.db"))
	if err != nil {
		return built{}, fmt.Errorf("sales store: %w", err)
	}
	svc, err := sales.New(ctx, sales.Deps{
		Store:       st,
		EventBridge: env.eventBridgeAs(sales.Name),
		ArchiveARN:  fmt.Sprintf("arn:aws:events:%s:%s:archive/%s", Region, Account, ArchiveName),
		BusARN:      fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", Region, Account, BusName),
		RuleARN:     fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", Region, Account, BusName, sales.SubscriptionName),
		Logger:      env.logger,
	})
	if err != nil {
		_ = st.Close()
		return built{}, err
	}
	return built{service: svc, close: st.Close, afterStart: runJob(sales.FunctionCatchUp)}, nil
}
