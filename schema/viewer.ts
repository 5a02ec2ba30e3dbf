import { Field, ObjectType } from 'type-graphql';

@ObjectType('Viewer', { description: 'The caller as the server sees it: what its token may do.' })
export class ViewerType {
  @Field(() => [String], { description: 'Scopes of the caller: read, write.' })
  scopes!: string[];

  @Field(() => Boolean, { description: 'Whether this server asks for bearer tokens at all.' })
  tokensRequired!: boolean;
}
