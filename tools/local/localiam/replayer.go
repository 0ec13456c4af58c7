package localiam

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// EventBridge replay operations a replayer may call.
const (
	opStartReplay    = "AWSEvents.StartReplay"
	opDescribeReplay = "AWSEvents.DescribeReplay"
)

// replayPolicy is a service role that may start replays of one archive and follow its
// own replays, as a generated service's catch-up role may on AWS: events:StartReplay
// on the archive ARN, events:DescribeReplay on replay/<prefix>*.
type replayPolicy struct {
	archiveARN, replayPrefix string
}

var (
	replayersMu sync.RWMutex
	replayers   = map[string]replayPolicy{}
)

// RegisterReplayer adds a service principal (keys are issued to it like to the
// built-in services) whose role may only StartReplay of archiveARN under a name
// starting with replayPrefix and DescribeReplay of such replays. Call it before a
// Store is made (a package init), as devstack's service registrations do.
func RegisterReplayer(principal, archiveARN, replayPrefix string) {
	replayersMu.Lock()
	defer replayersMu.Unlock()
	if !slices.Contains(Principals, principal) {
		// Services first, the developer last (WriteFile's order).
		Principals = slices.Insert(Principals, len(Principals)-1, principal)
	}
	replayers[principal] = replayPolicy{archiveARN: archiveARN, replayPrefix: replayPrefix}
}

// replayPolicyAllows answers for a replayer principal: ok says whether the principal
// is one; err is the denial.
func replayPolicyAllows(principal, op string, body []byte) (ok bool, err error) {
	replayersMu.RLock()
	p, ok := replayers[principal]
	replayersMu.RUnlock()
	if !ok {
		return false, nil
	}
	var in struct {
		ReplayName     string
		EventSourceArn string
	}
	if op != opStartReplay && op != opDescribeReplay {
		return true, fmt.Errorf("principal %s is not authorized to perform %s", principal, op)
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return true, nil // not IAM's business: the API answers the malformed body
	}
	// IAM matches the resource: the replay's ARN ends in its name, so a name outside
	// the prefix is another resource.
	if !strings.HasPrefix(in.ReplayName, p.replayPrefix) {
		return true, fmt.Errorf("principal %s is not authorized to perform %s on replay %q", principal, op, in.ReplayName)
	}
	if op == opStartReplay && in.EventSourceArn != p.archiveARN {
		return true, fmt.Errorf("principal %s is not authorized to perform %s on %q", principal, op, in.EventSourceArn)
	}
	return true, nil
}
