import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType('Deletion', { description: 'What a delete removed: rows, and the blobs no other row referred to.' })
export class DeletionType {
  @Field(() => ID, { description: 'The id of what was deleted.' })
  id!: string;

  @Field(() => Int, { description: 'Analysis rows removed (a model or dataset takes its analyses with it).' })
  analyses!: number;

  @Field(() => Int, { description: 'Cached results removed (with their artifact rows).' })
  results!: number;

  @Field(() => Int)
  artifacts!: number;

  @Field(() => Int, { description: 'Blob files removed: those no model, dataset or artifact row refers to any more.' })
  blobs!: number;

  static from(id: string, d: { analyses: number; results: number; artifacts: number; blobs: number }): DeletionType {
    return Object.assign(new DeletionType(), { id, ...d });
  }
}
