package org.cmm.eventbroker.cds;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Which ingredients interact, and how badly: the small table shipped in src/main/resources/cds/drug-interactions.yaml
 * (illustrative, not clinical advice). An ordered drug is recognised by its code (RXE-2.1, RXD-2.1 or the FHIR coding:
 * an RxNorm ingredient code or one of the product codes listed for the ingredient, in any coding system) or, when the
 * code is unknown, by an ingredient name appearing as a word in the drug's text.
 */
public final class DrugInteractionTable {

    /** An ingredient: its codes (ingredient and products) and the names it is recognised by. */
    public record Ingredient(String name, Set<String> codes, Set<String> names) {
    }

    /** Two ingredients that interact. */
    public record Interaction(String first, String second, AlertPriority severity, String summary) {

        boolean between(String a, String b) {
            return first.equals(a) && second.equals(b) || first.equals(b) && second.equals(a);
        }
    }

    private final Map<String, Ingredient> ingredients;
    private final List<Interaction> interactions;

    DrugInteractionTable(Map<String, Ingredient> ingredients, List<Interaction> interactions) {
        this.ingredients = ingredients;
        this.interactions = interactions;
    }

    public static DrugInteractionTable load(String location) {
        Object root = RulesResource.loadYaml(location, "drug interaction table");
        String where = "drug interaction table " + location;
        if (!(root instanceof Map<?, ?> top)) {
            throw new InvalidCdsRulesException(where + ": expected a mapping with 'ingredients' and 'interactions'");
        }
        Map<String, Ingredient> ingredients = new LinkedHashMap<>();
        if (!(top.get("ingredients") instanceof Map<?, ?> ins) || ins.isEmpty()) {
            throw new InvalidCdsRulesException(where + ": field 'ingredients' must be a non-empty mapping");
        }
        for (Map.Entry<?, ?> e : ins.entrySet()) {
            String name = String.valueOf(e.getKey()).toLowerCase(Locale.ROOT);
            if (!(e.getValue() instanceof Map<?, ?> fields)) {
                throw new InvalidCdsRulesException(where + ": ingredient '" + name + "' must be a mapping");
            }
            Set<String> codes = new LinkedHashSet<>(strings(fields.get("codes"), where + ": ingredient '" + name + "' field 'codes'"));
            Object rxnorm = fields.get("rxnorm");
            if (rxnorm == null) {
                throw new InvalidCdsRulesException(where + ": ingredient '" + name + "' field 'rxnorm' is missing");
            }
            codes.add(String.valueOf(rxnorm).trim());
            Set<String> names = new LinkedHashSet<>();
            names.add(name);
            strings(fields.get("names"), where + ": ingredient '" + name + "' field 'names'")
                    .forEach(n -> names.add(n.toLowerCase(Locale.ROOT)));
            ingredients.put(name, new Ingredient(name, codes, names));
        }
        List<Interaction> interactions = new ArrayList<>();
        if (!(top.get("interactions") instanceof List<?> list) || list.isEmpty()) {
            throw new InvalidCdsRulesException(where + ": field 'interactions' must be a non-empty list");
        }
        int i = 0;
        for (Object item : list) {
            String at = where + ": interactions[" + i++ + "]";
            if (!(item instanceof Map<?, ?> fields)) {
                throw new InvalidCdsRulesException(at + " must be a mapping");
            }
            List<String> pair = strings(fields.get("ingredients"), at + " field 'ingredients'");
            if (pair.size() != 2) {
                throw new InvalidCdsRulesException(at + " field 'ingredients' must name exactly two ingredients");
            }
            for (String p : pair) {
                if (!ingredients.containsKey(p.toLowerCase(Locale.ROOT))) {
                    throw new InvalidCdsRulesException(at + " field 'ingredients': '" + p + "' is not in 'ingredients'");
                }
            }
            AlertPriority severity = AlertPriority.parse(fields.get("severity") == null ? null : String.valueOf(fields.get("severity")));
            if (severity == null) {
                throw new InvalidCdsRulesException(at + " field 'severity' must be one of low, medium, high, critical");
            }
            Object summary = fields.get("summary");
            if (summary == null || String.valueOf(summary).isBlank()) {
                throw new InvalidCdsRulesException(at + " field 'summary' is missing");
            }
            interactions.add(new Interaction(pair.get(0).toLowerCase(Locale.ROOT), pair.get(1).toLowerCase(Locale.ROOT),
                    severity, String.valueOf(summary).trim()));
        }
        return new DrugInteractionTable(ingredients, interactions);
    }

    static List<String> strings(Object value, String where) {
        if (value == null) {
            return List.of();
        }
        if (value instanceof List<?> list) {
            List<String> out = new ArrayList<>();
            for (Object o : list) {
                if (o == null || o instanceof Map || o instanceof List) {
                    throw new InvalidCdsRulesException(where + " must be a list of plain values");
                }
                out.add(String.valueOf(o).trim());
            }
            return out;
        }
        if (value instanceof Map) {
            throw new InvalidCdsRulesException(where + " must be a list of plain values");
        }
        return List.of(String.valueOf(value).trim());
    }

    /** The ingredients of a drug, from its code and text; empty when the table does not know it. */
    public Set<String> ingredientsOf(String code, String text) {
        Set<String> found = new LinkedHashSet<>();
        String lowerText = text == null ? "" : " " + text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", " ") + " ";
        for (Ingredient ingredient : ingredients.values()) {
            if (code != null && ingredient.codes().contains(code.trim())) {
                found.add(ingredient.name());
            } else if (ingredient.names().stream().anyMatch(n -> lowerText.contains(" " + n + " "))) {
                found.add(ingredient.name());
            }
        }
        return found;
    }

    /** The interactions between one set of ingredients and another. */
    public List<Interaction> between(Collection<String> ingredientsA, Collection<String> ingredientsB) {
        List<Interaction> found = new ArrayList<>();
        for (Interaction interaction : interactions) {
            for (String a : ingredientsA) {
                for (String b : ingredientsB) {
                    if (!a.equals(b) && interaction.between(a, b) && !found.contains(interaction)) {
                        found.add(interaction);
                    }
                }
            }
        }
        return found;
    }
}
