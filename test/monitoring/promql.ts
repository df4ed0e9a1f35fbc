/**
 * Reads a PromQL expression with Prometheus' own grammar (@prometheus-io/lezer-promql, the parser of
 * Prometheus' web UI): where it does not parse, which metrics it selects, and what it compares with
 * which numbers.
 */
import { parser } from "@prometheus-io/lezer-promql";

type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

const COMPARISONS = new Set(["Eql", "Neq", "Gtr", "Gte", "Lss", "Lte"]);

/** `lhs <op> <number>`, as the expression writes it. */
export interface NumberComparison {
    readonly op: string;
    readonly value: number;
}

export interface PromqlReading {
    /** Offsets of the places the grammar could not parse; empty for a valid expression. */
    readonly errorsAt: number[];
    /** Metric names of the vector selectors, e.g. `up` in `up{job="x"} == 0`. */
    readonly metricNames: string[];
    /** The comparisons whose right-hand side is a number. */
    readonly numberComparisons: NumberComparison[];
}

function children(node: SyntaxNode): SyntaxNode[] {
    const result: SyntaxNode[] = [];
    for (let child = node.firstChild; child; child = child.nextSibling) result.push(child);
    return result;
}

export function readPromql(expr: string): PromqlReading {
    const reading: PromqlReading = { errorsAt: [], metricNames: [], numberComparisons: [] };
    const visit = (node: SyntaxNode): void => {
        const kids = children(node);
        if (node.type.isError) {
            reading.errorsAt.push(node.from);
        } else if (node.name === "Identifier" && node.parent?.name === "VectorSelector") {
            reading.metricNames.push(expr.slice(node.from, node.to));
        } else if (node.name === "BinaryExpr") {
            const op = kids.find((kid) => COMPARISONS.has(kid.name));
            const rhs = kids[kids.length - 1];
            if (op && rhs.name === "NumberDurationLiteral") {
                reading.numberComparisons.push({ op: expr.slice(op.from, op.to), value: Number(expr.slice(rhs.from, rhs.to)) });
            }
        }
        kids.forEach(visit);
    };
    visit(parser.parse(expr).topNode);
    return reading;
}
