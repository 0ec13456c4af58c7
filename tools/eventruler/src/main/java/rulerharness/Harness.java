package rulerharness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import software.amazon.event.ruler.JsonRuleCompiler;
import software.amazon.event.ruler.Machine;
import software.amazon.event.ruler.Patterns;

/**
 * Answers as aws/event-ruler does, one JSONL line per input line.
 *
 * <p>In: {"id":N,"pattern":"&lt;pattern JSON text&gt;","events":["&lt;event JSON text&gt;",...]}.
 * Out: {"id":N,"valid":bool,"error":"...","results":["true"|"false"|"error: ...",...]}.
 *
 * <p>A pattern is valid when JsonRuleCompiler compiles it and a Machine accepts every
 * sub-rule. Machine.addRule(String) would retry a pattern JsonRuleCompiler refuses with the
 * legacy RuleCompiler (no $or, no reserved-name checks); EventBridge does not, so neither
 * does this harness.
 */
public final class Harness {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Harness() {}

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode req = JSON.readTree(line);
            out.write(JSON.writeValueAsString(answer(req)));
            out.write('\n');
            if (!in.ready()) { // answer a caller that waits for each line, batch otherwise
                out.flush();
            }
        }
        out.flush();
    }

    static ObjectNode answer(JsonNode req) {
        ObjectNode resp = JSON.createObjectNode();
        resp.set("id", req.get("id"));
        ArrayNode results = resp.putArray("results");
        Machine machine = Machine.builder().build();
        try {
            List<Map<String, List<Patterns>>> rules = JsonRuleCompiler.compile(req.get("pattern").asText());
            for (Map<String, List<Patterns>> rule : rules) {
                machine.addPatternRule("r", rule);
            }
        } catch (Throwable e) { // an invalid pattern may surface as any exception or assertion
            resp.put("valid", false);
            resp.put("error", String.valueOf(e.getMessage()));
            return resp;
        }
        resp.put("valid", true);
        for (JsonNode ev : req.get("events")) {
            try {
                results.add(Boolean.toString(!machine.rulesForJSONEvent(ev.asText()).isEmpty()));
            } catch (Throwable e) {
                results.add("error: " + e.getMessage());
            }
        }
        return resp;
    }
}
