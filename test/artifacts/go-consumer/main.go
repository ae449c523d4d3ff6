// A consumer of the Go module github.com/recommender/behavior-tracking-go, built by
// test/artifacts/go-consumer.test.ts in a fresh module that depends on dist/go through a
// replace directive. One binary, one subcommand per check:
//
//	conformance CORPUS         [{id, mode, event}] → [{id, valid, errors: [{field, rule}]}] (ARTIFACTS.md)
//	track URL TENANT USER grpc|connect   TrackEvent with the generated client: gRPC (h2c) on the
//	                           gRPC port, or the Connect protocol (HTTP/1.1) on the HTTP port
//	murmur2 VECTORS PARTITIONS  partitions of the fixture's keys, as JSON {key: [p...]}
//	sarama BROKERS TENANT USER murmur2|default   the seed's sarama KafkaTracker; prints the partition
//	franz BROKERS TENANT USER  one event with franz-go's default partitioner; prints the partition
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/recommender/behavior-tracking-go/kafka/murmur2"
	recommenderv1 "github.com/recommender/behavior-tracking-go/recommender/v1"
	"github.com/recommender/behavior-tracking-go/recommender/v1/recommenderv1connect"
	"github.com/recommender/behavior-tracking-go/schema"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: consumer conformance|track|murmur2|sarama ...")
	}
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "conformance":
		err = conformance(args[0])
	case "track":
		err = track(args[0], args[1], args[2], args[3])
	case "murmur2":
		err = partitions(args[0], args[1])
	case "sarama":
		err = seedSarama(strings.Split(args[0], ","), args[1], args[2], args[3])
	case "franz":
		var partition int32
		var eventID string
		if partition, eventID, err = franzProduce(strings.Split(args[0], ","), args[1], args[2]); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(map[string]any{"partition": partition, "event_id": eventID})
		}
	case "version":
		fmt.Println(schema.Version)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

type corpusEntry struct {
	ID    string          `json:"id"`
	Mode  schema.Mode     `json:"mode"`
	Event json.RawMessage `json:"event"`
}

type fieldRule struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

type verdict struct {
	ID     string      `json:"id"`
	Valid  bool        `json:"valid"`
	Errors []fieldRule `json:"errors"`
}

func conformance(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var corpus []corpusEntry
	if err := json.Unmarshal(raw, &corpus); err != nil {
		return err
	}
	out := make([]verdict, 0, len(corpus))
	for _, c := range corpus {
		vs, err := schema.Validate(c.Event, c.Mode)
		if err != nil {
			return fmt.Errorf("%s: %w", c.ID, err)
		}
		v := verdict{ID: c.ID, Valid: len(vs) == 0, Errors: []fieldRule{}}
		for _, x := range vs {
			v.Errors = append(v.Errors, fieldRule{x.Field, x.Rule})
		}
		out = append(out, v)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func track(baseURL, tenant, user, protocol string) error {
	var client recommenderv1connect.BehaviorServiceClient
	switch protocol {
	case "grpc":
		// gRPC over cleartext HTTP/2 (h2c), as the server's gRPC port speaks it.
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		client = recommenderv1connect.NewBehaviorServiceClient(&http.Client{Transport: tr}, baseURL, connect.WithGRPC())
	case "connect":
		client = recommenderv1connect.NewBehaviorServiceClient(http.DefaultClient, baseURL)
	default:
		return fmt.Errorf("unknown protocol %q", protocol)
	}
	position := int32(3)
	event := &recommenderv1.BehaviorEvent{
		TenantId:   tenant,
		ScenarioId: "vlog_feed",
		UserId:     user,
		ItemId:     "video_67890",
		ActionType: recommenderv1.ActionType_ACTION_TYPE_PLAY_END,
		Context:    &recommenderv1.BehaviorContext{DeviceType: recommenderv1.DeviceType_DEVICE_TYPE_MOBILE, Os: "iOS", Location: "Beijing"},
		Position:   &position,
		ScenarioData: &recommenderv1.ScenarioSpecificData{Data: &recommenderv1.ScenarioSpecificData_VideoData{
			VideoData: &recommenderv1.VideoScenarioData{Duration: ptr(int32(180)), WatchDuration: ptr(int32(175)), CompletionRate: ptr(0.97), VideoQuality: ptr("1080p")},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := client.TrackEvent(ctx, connect.NewRequest(&recommenderv1.TrackEventRequest{Event: event}))
	if err != nil {
		return err
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(res.Msg)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

func ptr[T any](v T) *T { return &v }

func partitions(path, countsArg string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var fixture struct {
		Vectors []struct {
			Key string `json:"key"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		return err
	}
	var counts []int32
	for _, s := range strings.Split(countsArg, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		counts = append(counts, int32(n))
	}
	out := map[string]any{}
	for _, v := range fixture.Vectors {
		ps := []int32{}
		for _, n := range counts {
			ps = append(ps, murmur2.PartitionForKey(v.Key, n))
		}
		out[v.Key] = map[string]any{"murmur2": murmur2.Hash([]byte(v.Key)), "partition": ps}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// seedSarama runs the seed's "Go (sarama)" KafkaTracker (seed_sarama.go) for one click event.
func seedSarama(brokers []string, tenant, user, partitioner string) error {
	tracker, err := NewKafkaTracker(brokers, tenant, partitioner == "murmur2")
	if err != nil {
		return err
	}
	defer tracker.Close()
	event := map[string]interface{}{
		"scenario_id": "vlog_feed",
		"user_id":     user,
		"item_id":     "video_456",
		"action_type": "click",
		"context": map[string]interface{}{
			"device_type": "mobile",
		},
		"position": 3,
	}
	partition, err := tracker.Track(event)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"partition": partition, "event_id": event["event_id"]})
}
