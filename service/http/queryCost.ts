/**
 * GraphQL cost limits beside the depth limit (graphql-depth-limit): what one request may ask for.
 *
 * - fields: every field selected, fragments expanded where they are spread (a fragment spread ten
 *   times counts ten times), so 1,000 aliases of an expensive field or a fragment fan-out cannot
 *   make one small request do a thousand requests' work;
 * - aliases: fields selected under another name (the usual amplification tool);
 * - list sizes: any list in the request, written in the query or passed in the variables (also
 *   inside JSON scalars such as analyzer params), may hold at most maxListItems items.
 *
 * The first two are a validation rule (HTTP and WebSocket alike); list sizes in variables are
 * checked once the operation is known (variablesTooLarge). Batched HTTP operations stay off
 * (Apollo's allowBatchedHttpRequests defaults to false: an array body is a 400). Refusals carry
 * QUERY_TOO_COMPLEX with the limit and its setting.
 */
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

export interface QueryCostLimits {
  maxFields: number;
  maxAliases: number;
  maxListItems: number;
}

const tooComplex = (message: string) => new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });

export function queryCostRule(limits: QueryCostLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    return {
      OperationDefinition(op) {
        const count = { fields: 0, aliases: 0 };
        // Stops at the first limit passed: a fragment fan-out must not cost the server the work it asks for.
        const over = () => count.aliases > limits.maxAliases || count.fields > limits.maxFields;
        const walk = (set: SelectionSetNode, spreading: ReadonlySet<string>): void => {
          for (const s of set.selections) {
            if (over()) return;
            if (s.kind === Kind.FIELD) {
              count.fields++;
              if (s.alias) count.aliases++;
              if (s.selectionSet) walk(s.selectionSet, spreading);
            } else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, spreading);
            else {
              const f = fragments.get(s.name.value);
              // A cycle is NoFragmentCyclesRule's to report; here it just ends the walk.
              if (f && !spreading.has(f.name.value)) walk(f.selectionSet, new Set([...spreading, f.name.value]));
            }
          }
        };
        walk(op.selectionSet, new Set());
        const name = op.name ? `operation ${op.name.value}` : 'the operation';
        if (count.aliases > limits.maxAliases) {
          context.reportError(tooComplex(`${name} uses more than ${limits.maxAliases} aliases (ONNXSCOPE_MAX_QUERY_ALIASES)`));
        } else if (count.fields > limits.maxFields) {
          context.reportError(tooComplex(`${name} selects more than ${limits.maxFields} fields, fragments counted where spread (ONNXSCOPE_MAX_QUERY_FIELDS)`));
        }
      },
      ListValue(list) {
        if (list.values.length > limits.maxListItems) {
          context.reportError(tooComplex(`a list in the query has ${list.values.length} items; the limit is ${limits.maxListItems} (ONNXSCOPE_MAX_LIST_ITEMS)`));
        }
      },
    };
  };
}

/** The refusal for a request whose variables hold a list longer than maxListItems (at any depth), or null. */
export function variablesTooLarge(variables: unknown, maxListItems: number): GraphQLError | null {
  const stack: Array<{ value: unknown; path: string }> = [{ value: variables, path: '$' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (Array.isArray(value)) {
      if (value.length > maxListItems) {
        return tooComplex(`variable ${path} is a list of ${value.length} items; the limit is ${maxListItems} (ONNXSCOPE_MAX_LIST_ITEMS)`);
      }
      value.forEach((v, i) => stack.push({ value: v, path: `${path}[${i}]` }));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) stack.push({ value: v, path: path === '$' ? `$${k}` : `${path}.${k}` });
    }
  }
  return null;
}
