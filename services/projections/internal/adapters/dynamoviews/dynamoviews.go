// Package dynamoviews is the read model store on DynamoDB. One item per concert
// (partition key id); writes are conditional on the stored version so concurrent
// consumer invocations cannot move a view backwards. The list is served by Query on
// the GSI byStatus (partition key status, sort key position = startsAt#id); the
// unfiltered list merges the three status partitions, so no request ever Scans and
// no single constant partition takes every write.
package dynamoviews

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/concertsys/platform/dynamotable"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/viewevents"
)

var _ app.ViewStore = (*Store)(nil)

// Key and index names; the CDK stack declares the same table.
const (
	AttrID          = "id"
	AttrStatus      = "status"
	AttrPosition    = "position"
	IndexByStatus   = "byStatus"
	attrVersion     = "version"
	attrPublished   = "publishedVersion"
	attrArtist      = "artist"
	attrVenue       = "venue"
	attrStartsAt    = "startsAt"
	attrCapacity    = "capacity"
	attrPrice       = "priceCents"
	attrSold        = "ticketsSold"
	attrAvailable   = "ticketsAvailable"
	attrUpdatedAt   = "updatedAt"
	attrLastEvent   = "lastEventId"
	attrLastCorrel  = "lastCorrelationId"
	timeLayout      = time.RFC3339Nano
	statusesInIndex = 3
)

// Statuses are the partitions of the byStatus index, in no particular order.
var statuses = [statusesInIndex]string{viewevents.StatusScheduled, viewevents.StatusSoldOut, viewevents.StatusCancelled}

// Store is a view store in one DynamoDB table.
type Store struct {
	client *dynamodb.Client
	table  string
}

// New uses an existing table (see CreateTable).
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table}
}

// CreateTable creates the views table with its index (on-demand billing) and waits
// until it is active. Used by tests and local tooling; on AWS the CDK stack owns it.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	s := types.ScalarAttributeTypeS
	return dynamotable.Create(ctx, client, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrID), AttributeType: s},
			{AttributeName: aws.String(AttrStatus), AttributeType: s},
			{AttributeName: aws.String(AttrPosition), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(AttrID), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexByStatus),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrStatus), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrPosition), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
}

// Get returns the record of a concert (strongly consistent).
func (s *Store) Get(ctx context.Context, id string) (app.Record, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{AttrID: dynamotable.S(id)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return app.Record{}, fmt.Errorf("get view %s: %w", id, err)
	}
	if out.Item == nil {
		return app.Record{}, fmt.Errorf("get view %s: %w", id, app.ErrNotFound)
	}
	rec, err := decodeRecord(out.Item)
	if err != nil {
		return app.Record{}, fmt.Errorf("get view %s: %w", id, err)
	}
	return rec, nil
}

// Put stores the view if the stored version equals expected: a conditional PutItem
// for a new view, a conditional UpdateItem (leaving publishedVersion alone) otherwise.
func (s *Store) Put(ctx context.Context, rec app.Record, expected int64) error {
	v := rec.View
	if v.ID == "" {
		return errors.New("put view: empty id")
	}
	names := map[string]string{"#status": AttrStatus, "#position": AttrPosition, "#version": attrVersion,
		"#artist": attrArtist, "#venue": attrVenue, "#startsAt": attrStartsAt,
		"#capacity": attrCapacity, "#price": attrPrice, "#sold": attrSold, "#available": attrAvailable,
		"#updatedAt": attrUpdatedAt, "#lastEvent": attrLastEvent, "#lastCorrel": attrLastCorrel}
	values := map[string]types.AttributeValue{
		":status": dynamotable.S(v.Status), ":position": dynamotable.S(app.Position(v)), ":version": dynamotable.N(v.Version),
		":artist": dynamotable.S(v.Artist), ":venue": dynamotable.S(v.Venue), ":startsAt": dynamotable.S(v.StartsAt.UTC().Format(timeLayout)),
		":capacity": dynamotable.N(int64(v.Capacity)), ":price": dynamotable.N(v.PriceCents), ":sold": dynamotable.N(int64(v.TicketsSold)),
		":available": dynamotable.N(int64(v.TicketsAvailable)), ":updatedAt": dynamotable.S(v.UpdatedAt.UTC().Format(timeLayout)),
		":lastEvent": dynamotable.S(rec.LastEventID), ":lastCorrel": dynamotable.S(rec.LastCorrelationID),
	}
	if expected == 0 {
		return s.create(ctx, v, values)
	}
	values[":expected"] = dynamotable.N(expected)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       map[string]types.AttributeValue{AttrID: dynamotable.S(v.ID)},
		UpdateExpression: aws.String("SET #status = :status, #position = :position, #version = :version, " +
			"#artist = :artist, #venue = :venue, #startsAt = :startsAt, #capacity = :capacity, #price = :price, " +
			"#sold = :sold, #available = :available, #updatedAt = :updatedAt, #lastEvent = :lastEvent, " +
			"#lastCorrel = :lastCorrel"),
		ConditionExpression:       aws.String("#version = :expected"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if dynamotable.ConditionFailed(err) {
		return fmt.Errorf("put view %s v%d: stored version is not v%d: %w", v.ID, v.Version, expected, app.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("put view %s v%d: %w", v.ID, v.Version, err)
	}
	return nil
}

// create writes a new view with PutItem. (UpdateItem could create it too, but
// minidyn mis-indexes items created by UpdateItem in a GSI; on DynamoDB both agree.)
func (s *Store) create(ctx context.Context, v viewevents.ConcertViewV1, values map[string]types.AttributeValue) error {
	item := map[string]types.AttributeValue{AttrID: dynamotable.S(v.ID), attrPublished: dynamotable.N(0)}
	for attr, placeholder := range map[string]string{AttrStatus: ":status", AttrPosition: ":position",
		attrVersion: ":version", attrArtist: ":artist", attrVenue: ":venue", attrStartsAt: ":startsAt",
		attrCapacity: ":capacity", attrPrice: ":price", attrSold: ":sold", attrAvailable: ":available",
		attrUpdatedAt: ":updatedAt", attrLastEvent: ":lastEvent", attrLastCorrel: ":lastCorrel"} {
		item[attr] = values[placeholder]
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": AttrID},
	})
	if dynamotable.ConditionFailed(err) {
		return fmt.Errorf("put view %s v%d: a view exists already: %w", v.ID, v.Version, app.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("put view %s v%d: %w", v.ID, v.Version, err)
	}
	return nil
}

// MarkPublished raises publishedVersion, conditionally, so it never goes down.
func (s *Store) MarkPublished(ctx context.Context, id string, version int64) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 map[string]types.AttributeValue{AttrID: dynamotable.S(id)},
		UpdateExpression:                    aws.String("SET #published = :v"),
		ConditionExpression:                 aws.String("attribute_exists(#id) AND #published < :v"),
		ExpressionAttributeNames:            map[string]string{"#published": attrPublished, "#id": AttrID},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":v": dynamotable.N(version)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if item, failed := dynamotable.FailedItem(err); failed {
		// Either already published at or above version, or no view at all; a server
		// that returns no item leaves the two apart to a read.
		if item != nil {
			return nil
		}
		if _, err := s.Get(ctx, id); err != nil {
			return fmt.Errorf("mark view %s v%d published: %w", id, version, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark view %s v%d published: %w", id, version, err)
	}
	return nil
}

// List queries the byStatus index: one partition for a status filter, all three
// merged by position otherwise. Each partition yields at most Limit+1 items after
// the position, which is enough to fill the page and know whether more follow.
func (s *Store) List(ctx context.Context, q app.ListQuery) (app.ListPage, error) {
	if q.Limit < 1 {
		return app.ListPage{}, fmt.Errorf("list views: limit %d, want >= 1", q.Limit)
	}
	parts := statuses[:]
	if q.Status != "" {
		parts = []string{q.Status}
	}
	var items []app.Record
	for _, status := range parts {
		got, err := s.queryStatus(ctx, status, q.After, q.Limit+1)
		if err != nil {
			return app.ListPage{}, err
		}
		items = append(items, got...)
	}
	slices.SortFunc(items, func(a, b app.Record) int {
		pa, pb := app.Position(a.View), app.Position(b.View)
		switch {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	var page app.ListPage
	for i, r := range items {
		if i == q.Limit {
			page.Next = app.Position(page.Items[i-1])
			break
		}
		page.Items = append(page.Items, r.View)
	}
	return page, nil
}

func (s *Store) queryStatus(ctx context.Context, status, after string, want int) ([]app.Record, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexByStatus),
		KeyConditionExpression:    aws.String("#status = :status"),
		ExpressionAttributeNames:  map[string]string{"#status": AttrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":status": dynamotable.S(status)},
		Limit:                     aws.Int32(int32(want)),
	}
	if after != "" {
		in.KeyConditionExpression = aws.String("#status = :status AND #position > :after")
		in.ExpressionAttributeNames["#position"] = AttrPosition
		in.ExpressionAttributeValues[":after"] = dynamotable.S(after)
	}
	var out []app.Record
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list views %s: %w", status, err)
		}
		for _, item := range page.Items {
			rec, err := decodeRecord(item)
			if err != nil {
				return nil, fmt.Errorf("list views %s: %w", status, err)
			}
			out = append(out, rec)
		}
		if len(out) >= want || page.LastEvaluatedKey == nil {
			if len(out) > want {
				out = out[:want]
			}
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
		in.Limit = aws.Int32(int32(want - len(out)))
	}
}

func decodeRecord(item map[string]types.AttributeValue) (app.Record, error) {
	d := decoder{dynamotable.NewDecoder(item)}
	rec := app.Record{
		View: viewevents.ConcertViewV1{
			ID: d.S(AttrID), Artist: d.S(attrArtist), Venue: d.S(attrVenue),
			StartsAt: d.time(attrStartsAt), Capacity: int(d.Int(attrCapacity)), PriceCents: d.Int(attrPrice),
			TicketsSold: int(d.Int(attrSold)), TicketsAvailable: int(d.Int(attrAvailable)),
			Status: d.S(AttrStatus), Version: d.Int(attrVersion), UpdatedAt: d.time(attrUpdatedAt),
		},
		LastEventID: d.S(attrLastEvent), LastCorrelationID: d.S(attrLastCorrel),
		PublishedVersion: d.Int(attrPublished),
	}
	if err := d.Err(); err != nil {
		return app.Record{}, fmt.Errorf("decode view item %s: %w", rec.View.ID, err)
	}
	return rec, nil
}

// decoder adds the view's time attributes to the shared item decoder.
type decoder struct{ *dynamotable.Decoder }

func (d decoder) time(name string) time.Time {
	s := d.S(name)
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		d.Fail(fmt.Errorf("%s: %w", name, err))
	}
	return t.UTC()
}
