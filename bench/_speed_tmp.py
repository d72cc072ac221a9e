import cProfile, pstats, sys, time, io
import django; django.setup()
from streamsite.celery import app
app.conf.task_always_eager = False; app.conf.broker_url = "memory://"
from django.conf import settings
from django.core.management import call_command
from recommendations import algorithms, evaluation, selectors
from recommendations.models import ModelVersion
algo = sys.argv[1:]
td = selectors.training_data(); allowed = selectors.allowed_matrix(td)
split = evaluation.temporal_split(td.data, holdout=settings.RECS_HOLDOUT)
als = algorithms.build("als"); t, c = time.perf_counter(), time.process_time()
als.fit(split.train); evaluation.evaluate(als, split, allowed=allowed)
bw, bc = time.perf_counter()-t, time.process_time()-c
print("ALS baseline wall", bw, "cpu", bc)
pr = cProfile.Profile(); t=time.perf_counter(); c=time.process_time()
pr.enable(); call_command("recs_train", *algo, stdout=sys.stdout, stderr=io.StringIO()); pr.disable()
w, cc = time.perf_counter()-t, time.process_time()-c
print("recs_train wall", w, "cpu", cc, "ratio wall", w/bw, "cpu", cc/bc)
for v in ModelVersion.objects.order_by("-pk")[:2]: print(v.pk, v.algorithm, v.status, v.decision)
s = pstats.Stats(pr); s.sort_stats("cumulative"); s.print_stats(35)
