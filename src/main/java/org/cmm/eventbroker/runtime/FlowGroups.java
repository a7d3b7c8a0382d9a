package org.cmm.eventbroker.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * Flows that run in one runtime, as {@value #FILE} under the routes folder declares them: the dependencies between flows
 * that {@link Flows} cannot read from the route files, because a flow never brings in another flow (a bean looked up
 * by name at start, a bean found by type, one stateful bean that two flows would each start). Each declaration puts a
 * flow in the group of another (its {@code runsWith}, the group's first flow, which names the group); a
 * {@code required} one cannot start without it.
 *
 * <p>One declaration, two readers: {@link FlowSelection} refuses a {@code cmm.flows} that names a flow without a flow it
 * requires, and the Camel K generator makes one Integration per group.
 */
public final class FlowGroups {

    /** The declaration's file name, in the routes folder. */
    public static final String FILE = "flow-groups.yaml";

    /**
     * One declaration: {@code flow} runs in the runtime of {@code runsWith}.
     *
     * @param required the flow does not start without {@code runsWith}
     * @param because why, as the declaration says it (for messages and the generated manifests)
     */
    public record Member(String flow, String runsWith, boolean required, String because) {
    }

    private final Path file;
    private final List<Member> members;

    private FlowGroups(Path file, List<Member> members) {
        this.file = file;
        this.members = List.copyOf(members);
    }

    /** No flow groups: every flow runs on its own. */
    public static FlowGroups none() {
        return new FlowGroups(null, List.of());
    }

    /**
     * Reads {@value #FILE} of the routes folder (none when absent) and checks it against the flows there: every name a
     * flow, a flow in one group at most, a group's first flow in no other group.
     */
    public static FlowGroups read(Path routesFolder, Set<String> flowNames) {
        Path file = routesFolder.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return none();
        }
        Object document;
        try {
            document = new Load(LoadSettings.builder().setLabel(file.toString()).build())
                    .loadFromString(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        } catch (YamlEngineException e) {
            throw new IllegalArgumentException(file + " is not valid YAML: " + e.getMessage(), e);
        }
        List<Member> members = new ArrayList<>();
        if (document != null) {
            if (!(document instanceof List<?> entries)) {
                throw new IllegalArgumentException(file + ": a list of {flow, runsWith, required, because}");
            }
            for (Object entry : entries) {
                if (!(entry instanceof Map<?, ?> map)) {
                    throw new IllegalArgumentException(file + ": " + entry + " is not {flow, runsWith, required, because}");
                }
                Set<String> keys = new TreeSet<>();
                map.keySet().forEach(k -> keys.add(String.valueOf(k)));
                if (!Set.of("flow", "runsWith", "required", "because").containsAll(keys)) {
                    throw new IllegalArgumentException(file + ": " + map + " has keys other than flow, runsWith, required, because");
                }
                String flow = text(map, "flow", file);
                String runsWith = text(map, "runsWith", file);
                Object required = map.get("required");
                if (required != null && !(required instanceof Boolean)) {
                    throw new IllegalArgumentException(file + ": required of " + flow + " is true or false, not " + required);
                }
                members.add(new Member(flow, runsWith, Boolean.TRUE.equals(required), text(map, "because", file)));
            }
        }
        FlowGroups groups = new FlowGroups(file, members);
        groups.check(flowNames);
        return groups;
    }

    private static String text(Map<?, ?> map, String key, Path file) {
        Object value = map.get(key);
        if (value == null || String.valueOf(value).isBlank()) {
            throw new IllegalArgumentException(file + ": " + map + " has no " + key);
        }
        return String.valueOf(value).trim();
    }

    private void check(Set<String> flowNames) {
        Set<String> seen = new TreeSet<>();
        for (Member m : members) {
            for (String name : List.of(m.flow(), m.runsWith())) {
                if (!flowNames.contains(name)) {
                    throw new IllegalArgumentException(file + ": " + name + " is not a flow (a route file " + name
                            + Flows.SUFFIX + " with a route not starting from direct:); the flows are " + flowNames);
                }
            }
            if (m.flow().equals(m.runsWith())) {
                throw new IllegalArgumentException(file + ": " + m.flow() + " runs with itself");
            }
            if (!seen.add(m.flow())) {
                throw new IllegalArgumentException(file + ": " + m.flow() + " is declared twice (a flow is in one group)");
            }
        }
        for (Member m : members) {
            if (seen.contains(m.runsWith())) {
                throw new IllegalArgumentException(file + ": " + m.runsWith() + " names a group (" + m.flow()
                        + " runs with it) and is in the group of " + groupOf(m.runsWith()) + ": name that group instead");
            }
        }
    }

    /** The declaration file, or null when there is none. */
    public Path file() {
        return file;
    }

    /** Every declaration, in the file's order. */
    public List<Member> members() {
        return members;
    }

    /** The group a flow runs in: the first flow of its group, or the flow itself when it is in no declared group. */
    public String groupOf(String flow) {
        return members.stream().filter(m -> m.flow().equals(flow)).map(Member::runsWith).findFirst().orElse(flow);
    }

    /** The flows of the group a flow names (itself first, then the flows declared to run with it), or just the flow. */
    public List<String> flowsOf(String group) {
        Set<String> flows = new LinkedHashSet<>();
        flows.add(group);
        members.stream().filter(m -> m.runsWith().equals(group)).forEach(m -> flows.add(m.flow()));
        return List.copyOf(flows);
    }

    /** The declarations of the flows that run with the group's first flow. */
    public List<Member> membersOf(String group) {
        return members.stream().filter(m -> m.runsWith().equals(group)).toList();
    }

    /**
     * Why a runtime of these flows cannot start: each selected flow whose required group flow is not selected, with the
     * declaration's reason. Empty when it can.
     */
    public List<String> missingRequired(Collection<String> selected) {
        List<String> problems = new ArrayList<>();
        for (Member m : members) {
            if (m.required() && selected.contains(m.flow()) && !selected.contains(m.runsWith())) {
                problems.add(m.flow() + " needs the flow " + m.runsWith() + " in the same runtime (" + file + "): "
                        + m.because());
            }
        }
        return problems;
    }

    /** The flows of the selected flows' groups that are not selected (they run fine; a deployment keeps them together). */
    public Set<String> notSelectedOfTheirGroups(Collection<String> selected) {
        Set<String> missing = new TreeSet<>();
        for (String flow : selected) {
            for (String other : flowsOf(groupOf(flow))) {
                if (!selected.contains(other)) {
                    missing.add(other);
                }
            }
        }
        return missing;
    }
}
