console.log("main of with-post");
