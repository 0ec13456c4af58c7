package dynamolog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/eventlog/dynamolog"
	"github.com/concertsys/platform/testkit/dynamotest"
	"github.com/concertsys/platform/testkit/eventlogtest"
)

func TestConformance(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		eventlogtest.Run(t, eventlogtest.Options{NotAtomic: !b.AtomicConditions, TextOrderedSortKeys: b.Name == "minidyn"}, func(t *testing.T) eventlog.Log {
			return dynamolog.New(b.Client, b.NewTable(t, "events", dynamolog.CreateTable))
		})
	})
}

// TestItemMatchesRecordContract reads the raw item back and checks every attribute
// of the design's record, and that the size the adapter enforces is what the item
// holds.
func TestItemMatchesRecordContract(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		ctx := context.Background()
		table := b.NewTable(t, "events", dynamolog.CreateTable)
		e := eventlogtest.NewEvent("raw-1", 1)
		require.NoError(t, dynamolog.New(b.Client, table).Append(ctx, []eventlog.Event{e}))
		out, err := b.Client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(table),
			ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{
				"AggregateId":      &types.AttributeValueMemberS{Value: "raw-1"},
				"AggregateVersion": &types.AttributeValueMemberN{Value: "1"},
			},
		})
		require.NoError(t, err)
		want := map[string]string{
			"AggregateId": "S", "AggregateVersion": "N", "Created": "N", "EventType": "S", "Data": "S",
			"EventId": "S", "SchemaVersion": "N", "CorrelationId": "S", "CausationId": "S",
		}
		require.Len(t, out.Item, len(want), "got attributes %v", keys(out.Item))
		for name, kind := range want {
			switch out.Item[name].(type) {
			case *types.AttributeValueMemberS:
				require.Equal(t, kind, "S", "%s: got S, want %s", name, kind)
			case *types.AttributeValueMemberN:
				require.Equal(t, kind, "N", "%s: got N, want %s", name, kind)
			default:
				t.Fatalf("%s: got %T, want %s", name, out.Item[name], kind)
			}
		}
		created := out.Item["Created"].(*types.AttributeValueMemberN).Value
		got, err := eventlog.ParseEpochSeconds(created)
		require.NoError(t, err)
		require.Equal(t, e.OccurredAt.UnixMilli(), got.UnixMilli(), "Created %s: got %v want %v", created, got, e.OccurredAt)
		require.Equal(t, string(e.Data), out.Item["Data"].(*types.AttributeValueMemberS).Value)
	})
}

func TestCreateTableDeclaresKeysAndStream(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		table := b.NewTable(t, "events", dynamolog.CreateTable)
		out, err := b.Client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		require.NoError(t, err)
		ks := out.Table.KeySchema
		require.Len(t, ks, 2)
		require.Equal(t, "AggregateId", aws.ToString(ks[0].AttributeName))
		require.Equal(t, types.KeyTypeHash, ks[0].KeyType)
		require.Equal(t, "AggregateVersion", aws.ToString(ks[1].AttributeName))
		require.Equal(t, types.KeyTypeRange, ks[1].KeyType)
		if s := out.Table.StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
			require.Equal(t, types.StreamViewTypeNewImage, s.StreamViewType)
		} else {
			t.Logf("%s does not report a stream; tolerated for local servers", b.Name)
		}
	})
}

func keys(m map[string]types.AttributeValue) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func BenchmarkAppend(b *testing.B) {
	be := dynamotest.Minidyn(b)
	ctx := context.Background()
	// A fresh table per run: minidyn's cost per transaction grows with table size.
	b.Run("minidyn/single", func(b *testing.B) {
		l := dynamolog.New(be.Client, be.NewTable(b, "events", dynamolog.CreateTable))
		id := fmt.Sprintf("bench-single-%d", b.N)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := l.Append(ctx, eventlogtest.NewEvents(id, int64(i+1), 1)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
	b.Run("minidyn/batch2", func(b *testing.B) {
		l := dynamolog.New(be.Client, be.NewTable(b, "events", dynamolog.CreateTable))
		id := fmt.Sprintf("bench-batch-%d", b.N)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := l.Append(ctx, eventlogtest.NewEvents(id, int64(2*i+1), 2)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
}

// TestRetriedPutIsNotAConflict covers the SDK retrying a PutItem whose response was
// lost: the retry finds the event it wrote itself, which is a success.
func TestRetriedPutIsNotAConflict(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		ctx := context.Background()
		l := dynamolog.New(b.Client, b.NewTable(t, "events", dynamolog.CreateTable))
		e := eventlogtest.NewEvent("retried", 1)
		require.NoError(t, l.Append(ctx, []eventlog.Event{e}))
		require.NoError(t, l.Append(ctx, []eventlog.Event{e}), "identical event again: want success")

		other := eventlogtest.NewEvent("retried", 1)
		err := l.Append(ctx, []eventlog.Event{other})
		require.ErrorIs(t, err, eventlog.ErrConflict, "other event at a taken version: got %v", err)
		sameID := other
		sameID.EventID = e.EventID
		err = l.Append(ctx, []eventlog.Event{sameID})
		require.ErrorIs(t, err, eventlog.ErrConflict, "same id, other data: got %v", err)

		got, err := l.Load(ctx, "retried")
		require.NoError(t, err)
		eventlogtest.RequireSameEvents(t, []eventlog.Event{e}, got)
	})
}
