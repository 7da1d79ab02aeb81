// modelJsonUrl and shardBaseUrl: the coordinator's URL layout, and `latest` pinned to a version.
import test from 'ava';
import { modelJsonUrl, shardBaseUrl } from '../src/source.js';

test('a model ref becomes the coordinator URL, keeping a base path and defaulting to latest', (t) => {
  t.is(modelJsonUrl({ baseUrl: 'http://h:8080', name: 'mnist', version: 3 }).href, 'http://h:8080/v1/models/mnist/3/model.json');
  t.is(modelJsonUrl({ baseUrl: 'https://h/syncline', name: 'a b' }).href, 'https://h/syncline/v1/models/a%20b/latest/model.json');
  t.is(modelJsonUrl({ baseUrl: 'https://h/syncline/', name: 'm', version: 'latest' }).href, 'https://h/syncline/v1/models/m/latest/model.json');
  t.is(modelJsonUrl('http://h/x/model.json').href, 'http://h/x/model.json');
});

test('a ref that cannot name a model is a TypeError', (t) => {
  t.throws(() => modelJsonUrl({ baseUrl: 'http://h', name: '' }), { instanceOf: TypeError });
  t.throws(() => modelJsonUrl({ baseUrl: 'http://h', name: 'm', version: 0 }), { instanceOf: TypeError });
  t.throws(() => modelJsonUrl({ baseUrl: 'http://h', name: 'm', version: 1.5 }), { instanceOf: TypeError });
  t.throws(() => modelJsonUrl('not a url'), { instanceOf: TypeError });
});

test('shards of a latest model.json resolve against the resolved version', (t) => {
  t.is(shardBaseUrl(new URL('http://h/v1/models/m/latest/model.json'), 7).href, 'http://h/v1/models/m/7/');
  t.is(shardBaseUrl(new URL('http://h/v1/models/m/7/model.json'), 7).href, 'http://h/v1/models/m/7/');
  t.is(shardBaseUrl(new URL('http://h/files/model.json'), 2).href, 'http://h/files/');
});
